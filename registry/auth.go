package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// ErrCredentials marks an auth file tailor could not read a login from.
var ErrCredentials = errors.New("cannot read registry credentials")

// AuthFiles are the files logins are read from, first match wins, in the
// order podman, skopeo and buildah (containers-auth.json(5)) and then
// Docker look:
//
//  1. $REGISTRY_AUTH_FILE
//  2. ${XDG_RUNTIME_DIR}/containers/auth.json, or /run/containers/UID/auth.json
//     without XDG_RUNTIME_DIR (where `podman login` writes as root)
//  3. $HOME/.config/containers/auth.json
//  4. $DOCKER_CONFIG/config.json, or $HOME/.docker/config.json
//
// Files that do not exist are left out. Docker's credential helpers
// (credsStore, credHelpers) are run as docker would run them.
func AuthFiles() []string {
	var files []string
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		files = append(files, f)
	}
	if run := os.Getenv("XDG_RUNTIME_DIR"); run != "" {
		files = append(files, filepath.Join(run, "containers", "auth.json"))
	} else {
		files = append(files, filepath.Join("/run/containers", strconv.Itoa(os.Getuid()), "auth.json"))
	}
	home, _ := os.UserHomeDir()
	if home != "" {
		files = append(files, filepath.Join(home, ".config", "containers", "auth.json"))
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		files = append(files, filepath.Join(d, "config.json"))
	} else if home != "" {
		files = append(files, filepath.Join(home, ".docker", "config.json"))
	}
	var present []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			present = append(present, f)
		}
	}
	return present
}

// fileCredentials is the default Options.Credential: the login for
// hostport in AuthFiles, read when the registry asks for one (so an
// anonymous registry works whatever state the files are in).
//
// Its errors never carry the store's own message, which can quote the
// secret (a malformed "auth" field is echoed decoded); they name the
// files and how to fix them.
func fileCredentials(ctx context.Context, hostport string) (auth.Credential, error) {
	files := AuthFiles()
	if len(files) == 0 {
		return auth.EmptyCredential, nil
	}
	var stores []credentials.Store
	for _, f := range files {
		s, err := credentials.NewStore(f, credentials.StoreOptions{})
		if err != nil {
			return auth.EmptyCredential, credentialError(hostport, []string{f})
		}
		stores = append(stores, s)
	}
	cred, err := credentials.Credential(credentials.NewStoreWithFallbacks(stores[0], stores[1:]...))(ctx, hostport)
	if err != nil {
		return auth.EmptyCredential, credentialError(hostport, files)
	}
	return cred, nil
}

// credentialsError says which files a login could not be read from, and
// nothing of what they hold.
type credentialsError struct {
	host  string
	files []string
}

func credentialError(host string, files []string) error { return &credentialsError{host, files} }

func (e *credentialsError) Error() string {
	return fmt.Sprintf("%s for %s from %s (details not shown: they can hold the secret): check that the file is valid "+
		"JSON and its credential helper is installed, or log in again with docker login or podman login",
		ErrCredentials, e.host, strings.Join(e.files, ", "))
}

func (e *credentialsError) Unwrap() error { return ErrCredentials }
