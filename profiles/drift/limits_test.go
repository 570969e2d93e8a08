package drift

import (
	"github.com/tailor-dev/tailor/internal/budget"

	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tailor-dev/tailor/profiles"
	"github.com/tailor-dev/tailor/profiles/seccompjson"
)

// The inputs below are diffed and rendered in well under a second (a few
// under the race detector). 8000 unknown syscall names used to take 20 s,
// 2 MB of them 11 minutes, and every line number of CURRENT was counted
// from its start.
func TestDiffBudget(t *testing.T) {
	base := read(t, "testdata/baseline.json")
	many := read(t, "testdata/baseline.json").Profile
	const n = 50_000
	ioctl, _ := many.Syscall(profiles.ABIX8664, "ioctl")
	ioctl.Args = &profiles.ArgValues{}
	for v := range uint64(n) {
		ioctl.Args.Values = append(ioctl.Args.Values, 0x10000+v)
	}
	data, err := many.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  []byte
	}{
		{name: "8000 unknown names", doc: unknownNames(8000)},
		{name: "2 MB of unknown names", doc: unknownNames(200_000)},
		{name: fmt.Sprintf("%d new ioctl requests", n), doc: data},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *Report
			budget.Within(t, 10*time.Second, tt.name, func() {
				cur, err := seccompjson.Parse("current.json", tt.doc, seccompjson.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				r = Diff(base, cur)
				v := r.Judge(FailOnHigh)
				for _, f := range Formats {
					if err := Render(io.Discard, r, v, f, RenderOptions{}); err != nil {
						t.Error(err)
					}
				}
			})
			if r == nil || !strings.Contains(tt.name, "ioctl") {
				return
			}
			last, ok := find(r.Added, fmt.Sprintf("x86_64 ioctl %#x", 0x10000+n-1))
			if !ok || last.Line == 0 {
				t.Fatalf("the last new request has no line: %+v", last)
			}
		})
	}
}

func unknownNames(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": ["read"`)
	for i := range n {
		fmt.Fprintf(&b, `, "s%d"`, i)
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}
