package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// explain turns what oras-go or the network returned into an error that
// names the reference, what went wrong and how to fix it, wrapping one of
// the package's sentinels where one applies. Nothing it adds comes from an
// auth file.
func explain(op string, r Ref, err error, opts Options) error {
	at := op + " " + r.String()
	var (
		np      *notProfileError
		creds   *credentialsError
		resp    *errcode.ErrorResponse
		dnsErr  *net.DNSError
		opErr   *net.OpError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		caErr   x509.UnknownAuthorityError
	)
	status := 0
	if errors.As(err, &resp) {
		status = resp.StatusCode
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &netErr):
		return fmt.Errorf("%s: %w", at, err)
	case errors.As(err, &np):
		return fmt.Errorf("%s: %w: %w; tailor pull reads what tailor push stored (artifact type %s)",
			at, ErrNotProfile, np.err, ArtifactType)
	case errors.As(err, &creds):
		return fmt.Errorf("%s: %w", at, creds)
	case errors.Is(err, errdef.ErrNotFound), status == http.StatusNotFound:
		if r.IsDigest() {
			return fmt.Errorf("%s: %w: %s/%s has no manifest %s (or the repository does not exist): check the "+
				"digest (tailor push prints the ones it stores)", at, ErrNotFound, r.Host(), r.Repository(), r.ref.Reference)
		}
		return fmt.Errorf("%s: %w: %s/%s has no tag %s (or the repository does not exist): check the reference "+
			"(tailor push PROFILE %s publishes one)", at, ErrNotFound, r.Host(), r.Repository(), r.Tag(), r)
	case errors.Is(err, content.ErrMismatchedDigest), errors.Is(err, content.ErrTrailingData),
		errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "mismatch Content-Length"):
		return fmt.Errorf("%s: %w (%w): push it again; if that does not help, the registry's storage is damaged "+
			"or the content was tampered with", at, ErrCorrupt, err)
	case errors.Is(err, auth.ErrBasicCredentialNotFound), status == http.StatusUnauthorized:
		return fmt.Errorf("%s: %w: %s wants a login and %s: log in with docker login %s or podman login %s "+
			"(tailor reads %s)", at, ErrDenied, r.Host(), loginState(status), r.Host(), r.Host(), authFileList())
	case status == http.StatusForbidden:
		return fmt.Errorf("%s: %w: the login for %s may not %s %s: ask the registry's owner for access, or log in "+
			"as another user", at, ErrDenied, r.Host(), op, r.Repository())
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s: %w over HTTPS: %s answers in plain HTTP: add --plain-http if it is meant to run "+
			"without TLS", at, ErrUnreachable, r.Host())
	case opts.PlainHTTP && status == http.StatusBadRequest:
		return fmt.Errorf("%s: %w (%w): a registry that serves HTTPS refuses plain HTTP: leave out --plain-http",
			at, ErrUnreachable, err)
	case errors.As(err, &certErr), errors.As(err, &caErr):
		return fmt.Errorf("%s: %w: %s's TLS certificate is not trusted (%w): add its CA to the system's trust "+
			"store (/usr/local/share/ca-certificates, update-ca-certificates)", at, ErrUnreachable, r.Host(), err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s: %w: cannot resolve %s (%w): check the host name", at, ErrUnreachable, r.Host(), dnsErr)
	case errors.As(err, &opErr) && opErr.Op == "dial", errors.As(err, &netErr) && netErr.Timeout():
		cause := err
		if opErr != nil {
			cause = opErr
		}
		return fmt.Errorf("%s: %w: nothing answers at %s (%w): check the host and port, and that the registry "+
			"is running", at, ErrUnreachable, r.Host(), cause)
	}
	return fmt.Errorf("%s: %w", at, err)
}

// loginState says why a 401 happened, as far as the client can tell.
func loginState(status int) string {
	if status == http.StatusUnauthorized {
		return "refused the one it was given"
	}
	return "none was found for it"
}

func authFileList() string {
	if files := AuthFiles(); len(files) > 0 {
		return strings.Join(files, ", ")
	}
	return "$REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json, ~/.docker/config.json or " +
		"$DOCKER_CONFIG/config.json; none exists"
}
