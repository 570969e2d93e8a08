package ocitest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		stdin   string
		args    []string
		want    Result
		wantErr string
	}{
		{name: "output and exit code", timeout: time.Minute, stdin: "in\n",
			args: []string{"/bin/sh", "-c", "cat; echo err >&2; exit 7"},
			want: Result{Stdout: "in\n", Stderr: "err\n", ExitCode: 7}},
		{name: "killed by a signal", timeout: time.Minute, args: []string{"/bin/sh", "-c", "kill -9 $$"},
			want: Result{ExitCode: -1}},
		{name: "timeout", timeout: 50 * time.Millisecond, args: []string{"/bin/sh", "-c", "exec sleep 10"},
			wantErr: "no exit within 50ms"},
		{name: "no such command", timeout: time.Minute, args: []string{"/nonexistent/tailor-ocitest"},
			wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdin []byte
			if tt.stdin != "" {
				stdin = []byte(tt.stdin)
			}
			got, err := Run(tt.timeout, stdin, tt.args[0], tt.args[1:]...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Wall <= 0 {
				t.Errorf("wall time %s", got.Wall)
			}
			got.Wall = 0
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWaitFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "profile.json")
	go func() {
		time.Sleep(30 * time.Millisecond)
		os.WriteFile(path+".tmp", []byte("{}"), 0o644)
		os.Rename(path+".tmp", path)
	}()
	data, err := WaitFile(path, 10*time.Second)
	if err != nil || string(data) != "{}" {
		t.Fatalf("WaitFile: %q, %v", data, err)
	}
	_, err = WaitFile(filepath.Join(dir, "never.json"), 30*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "was not written within 30ms") {
		t.Fatalf("error %v, want a timeout naming the file", err)
	}
}
