package registrytest

import (
	"net/http"
	"testing"
)

func TestStart(t *testing.T) {
	get := func(host, user, password string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("anonymous", func(t *testing.T) {
		r := Start(t, Options{})
		if code := get(r.Host, "", ""); code != http.StatusOK {
			t.Errorf("/v2/ answered %d, want 200", code)
		}
	})
	// The committed hash is Password's: the registry accepts it, and
	// nothing else.
	t.Run("htpasswd", func(t *testing.T) {
		r := Start(t, Options{Auth: true})
		if code := get(r.Host, "", ""); code != http.StatusUnauthorized {
			t.Errorf("/v2/ without a login answered %d, want 401", code)
		}
		if code := get(r.Host, User, "not-the-password"); code != http.StatusUnauthorized {
			t.Errorf("/v2/ with a wrong password answered %d, want 401", code)
		}
		if code := get(r.Host, User, Password); code != http.StatusOK {
			t.Errorf("/v2/ with the login answered %d, want 200", code)
		}
	})
	// REGISTRY_* variables (podman's REGISTRY_AUTH_FILE) would configure
	// the registry: they are kept from it.
	t.Run("REGISTRY_AUTH_FILE set", func(t *testing.T) {
		t.Setenv("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
		Start(t, Options{})
	})
}

func TestClosedPort(t *testing.T) {
	if _, err := http.Get("http://" + ClosedPort(t) + "/v2/"); err == nil {
		t.Error("something answers on ClosedPort")
	}
}
