package generator

import (
	"slices"
	"strings"
	"testing"

	"github.com/tailor-dev/tailor/profiles"
)

func TestRuntimeSyscalls(t *testing.T) {
	tests := []struct {
		name      string
		runtime   string
		calls     []profiles.Syscall
		wantFutex bool
		wantNote  bool
	}{
		{name: "runc without futex", runtime: "runc", calls: plain("execve", "write"), wantFutex: true, wantNote: true},
		{name: "runc with futex", runtime: "runc", calls: plain("execve", "futex", "write"), wantFutex: true},
		{name: "merged runc and crun", runtime: "crun, runc", calls: plain("execve", "write"), wantFutex: true, wantNote: true},
		{name: "crun", runtime: "crun", calls: plain("execve", "write")},
		{name: "unknown runtime", calls: plain("execve", "write")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profileOf("web", abiCalls(profiles.ABIX8664, tt.calls))
			p.Source.Runtime = tt.runtime
			f, notes, err := Seccomp(p, SeccompOptions{})
			if err != nil {
				t.Fatal(err)
			}
			allowed := side(f, nil, nil).Syscalls
			if got := slices.Contains(allowed, "futex"); got != tt.wantFutex {
				t.Errorf("futex allowed = %v, want %v (allowed %v)", got, tt.wantFutex, allowed)
			}
			noted := slices.ContainsFunc(notes, func(n Note) bool {
				return n.Syscall == "futex" && strings.Contains(n.Text, "runc")
			})
			if noted != tt.wantNote {
				t.Errorf("note about futex = %v, want %v (notes %v)", noted, tt.wantNote, notes)
			}
		})
	}
}
