package rootfs

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestNginxConf(t *testing.T) {
	tests := []struct {
		name   string
		config NginxConfig
		golden string
	}{
		{name: "default", config: NginxConfig{Page: "p"}, golden: "nginx.conf"},
		// The benchmark's load client drives every request over one
		// connection.
		{name: "keepalive", config: NginxConfig{Page: "p", KeepaliveRequests: 100000000}, golden: "nginx-keepalive.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.config.conf()
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("nginx.conf differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}
