package complain

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailor-dev/tailor/profiles"
)

// fakeSource replays notifications and records the answers.
type fakeSource struct {
	queue   []Notification
	answers map[uint64]int // 0: continue, else errno
	invalid map[uint64]bool
}

func (f *fakeSource) Recv() (Notification, error) {
	if len(f.queue) == 0 {
		return Notification{}, io.EOF
	}
	n := f.queue[0]
	f.queue = f.queue[1:]
	return n, nil
}
func (f *fakeSource) Continue(id uint64) error    { f.answers[id] = 0; return nil }
func (f *fakeSource) Fail(id uint64, e int) error { f.answers[id] = e; return nil }
func (f *fakeSource) Valid(id uint64) bool        { return !f.invalid[id] }

func TestServeRecordsWhatTheProfileLacked(t *testing.T) {
	src := &fakeSource{answers: map[uint64]int{}, invalid: map[uint64]bool{3: true}}
	for i := range 10 {
		src.queue = append(src.queue, Notification{ID: uint64(i + 1), Pid: 1, Nr: unix.SYS_MKDIR, Arch: unix.AUDIT_ARCH_X86_64})
	}
	src.queue = append(src.queue,
		Notification{ID: 100, Pid: 1, Nr: unix.SYS_SOCKET, Arch: unix.AUDIT_ARCH_X86_64, Args: [6]uint64{unix.AF_PACKET, unix.SOCK_RAW | unix.SOCK_CLOEXEC}},
		Notification{ID: 101, Pid: 1, Nr: unix.SYS_SOCKET, Arch: unix.AUDIT_ARCH_X86_64, Args: [6]uint64{unix.AF_PACKET, unix.SOCK_RAW}},
		Notification{ID: 102, Pid: 1, Nr: 1, Arch: 0xdead})
	for _, mode := range Modes {
		t.Run(string(mode), func(t *testing.T) {
			s := *src
			s.queue = append([]Notification(nil), src.queue...)
			m := Metadata{Mode: mode, Profile: "web", Recording: "web.violations"}
			if mode == ModeReport {
				m.Errno = int(unix.EPERM)
			}
			rec := NewRecording("web.violations", "web", "c1", mode, time.Unix(0, 0))
			if err := Serve(&s, rec, m, ServeOptions{}); err != nil {
				t.Fatal(err)
			}
			for id, got := range s.answers {
				if got != m.Errno {
					t.Errorf("notification %d answered %d, want %d", id, got, m.Errno)
				}
			}
			if len(s.answers) != len(src.queue) {
				t.Fatalf("answered %d of %d notifications", len(s.answers), len(src.queue))
			}
			p := rec.Profile(time.Unix(1, 0), true)
			if p.Complete {
				t.Errorf("a notification of an unknown architecture was dropped, yet the recording is complete")
			}
			calls := p.Syscalls("x86_64")
			if len(calls) != 2 || calls[0].Name != "mkdir" || calls[0].Seen.Count != 10 || calls[1].Name != "socket" || calls[1].Seen.Count != 2 {
				t.Fatalf("recorded %+v", calls)
			}
			if calls[1].Args == nil || len(calls[1].Args.Values) != 1 {
				t.Fatalf("socket recorded without its one domain/type value: %+v", calls[1].Args)
			}
			if rec.Violations() != uint64(len(src.queue)) {
				t.Errorf("counted %d violations, %d were made", rec.Violations(), len(src.queue))
			}
			if !strings.Contains(rec.Summary(), "mkdir: 10") {
				t.Errorf("summary: %s", rec.Summary())
			}
		})
	}
}

func TestRecordingInProgressIsIncomplete(t *testing.T) {
	rec := NewRecording("x", "x", "c", ModeComplain, time.Unix(0, 0))
	if p := rec.Profile(time.Unix(0, 0), false); p.Complete {
		t.Fatal("a recording written before the container ended is marked complete")
	}
	if p := rec.Profile(time.Unix(0, 0), true); !p.Complete {
		t.Fatalf("a final recording without loss is incomplete: %+v", p.Loss)
	}
}

func TestRecordingBounded(t *testing.T) {
	rec := NewRecording("x", "x", "c", ModeComplain, time.Unix(0, 0))
	for v := range MaxEntries + 10 {
		rec.Add(Notification{Nr: unix.SYS_IOCTL, Arch: unix.AUDIT_ARCH_X86_64, Args: [6]uint64{0, uint64(v)}}, func() Who { return Who{} })
	}
	p := rec.Profile(time.Unix(0, 0), true)
	if p.Complete || p.Loss.Events != 10 || rec.Violations() != MaxEntries+10 {
		t.Fatalf("beyond %d entries: complete=%v lost=%d counted=%d", MaxEntries, p.Complete, p.Loss.Events, rec.Violations())
	}
}

func TestParseMetadata(t *testing.T) {
	good := Metadata{Mode: ModeReport, Errno: 1, Profile: "web", File: "/var/lib/x/web.violations.json"}
	enc, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseMetadata(enc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"not json", "foo"},
		{"unknown field", `{"v":"tailor-complain/1","mode":"complain","profile":"a","recording":"b","x":1}`},
		{"relative file", `{"v":"tailor-complain/1","mode":"complain","profile":"a","file":"a.json"}`},
		{"dotdot file", `{"v":"tailor-complain/1","mode":"complain","profile":"a","file":"/a/../b.json"}`},
		{"both outputs", `{"v":"tailor-complain/1","mode":"complain","profile":"a","recording":"b","file":"/b.json"}`},
		{"bad name", `{"v":"tailor-complain/1","mode":"complain","profile":"a","recording":"../b"}`},
		{"report without errno", `{"v":"tailor-complain/1","mode":"report","profile":"a","recording":"b"}`},
		{"huge errno", `{"v":"tailor-complain/1","mode":"report","errno":99999,"profile":"a","recording":"b"}`},
		{"other version", `{"v":"tailor-complain/9","mode":"complain","profile":"a","recording":"b"}`},
		{"trailing", `{"v":"tailor-complain/1","mode":"complain","profile":"a","recording":"b"}{}`},
	} {
		if _, err := ParseMetadata(tc.in); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v, want ErrBadMessage", tc.name, err)
		}
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add(`{"v":"tailor-complain/1","mode":"complain","profile":"a","recording":"b"}`)
	f.Add(`{"v":"tailor-complain/1","mode":"report","errno":1,"profile":"a","file":"/x/y.json"}`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMetadata(s)
		if err != nil {
			return
		}
		if m.File != "" && (!strings.HasPrefix(m.File, "/") || strings.Contains(m.File, "/../")) {
			t.Fatalf("accepted file %q", m.File)
		}
	})
}

func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1,"metadata":"","state":{"ociVersion":"1.0.2","id":"c","status":"creating","bundle":"/b"}}`), 1)
	f.Fuzz(func(t *testing.T, data []byte, nfds int) {
		st, at, err := parseState(data, nfds)
		if err != nil {
			return
		}
		if at < 0 || at >= nfds || st.Fds[at] != seccompFdName || st.State.ID == "" {
			t.Fatalf("accepted %+v at %d of %d", st, at, nfds)
		}
	})
}

func TestServeReportsNewViolations(t *testing.T) {
	src := &fakeSource{answers: map[uint64]int{}}
	for i, nr := range []int{unix.SYS_MKDIR, unix.SYS_MKDIR, unix.SYS_CHMOD, unix.SYS_MKDIR, unix.SYS_SYMLINK} {
		src.queue = append(src.queue, Notification{ID: uint64(i + 1), Pid: 1, Nr: nr, Arch: unix.AUDIT_ARCH_X86_64})
	}
	rec := NewRecording("web.violations", "web", "c1", ModeComplain, time.Unix(0, 0))
	var got []int
	if err := Serve(src, rec, Metadata{Mode: ModeComplain}, ServeOptions{Added: func(n int) {
		got = append(got, n)
		if received := 5 - len(src.queue); len(src.answers) != received-1 {
			t.Errorf("added called after the new violation was answered")
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("added called with %v, want %v (once per new violation)", got, want)
	}
}

func TestCheckpoint(t *testing.T) {
	var at []int
	for n := 1; n <= MaxEntries; n++ {
		if checkpoint(n) {
			at = append(at, n)
		}
	}
	if len(at) != 64+6 || at[63] != 64 || at[64] != 128 || at[len(at)-1] != MaxEntries {
		t.Errorf("checkpoints at %v: want each of the first 64, then powers of two up to %d", at, MaxEntries)
	}
}

func TestRecordingCapabilities(t *testing.T) {
	rec := NewRecording("web.violations", "web", "c1", ModeComplain, time.Unix(0, 0))
	rec.NoCaps("the tracer was not recording container \"c1\"")
	p := rec.Profile(time.Unix(1, 0), true)
	if slices.Contains(p.Recorded, profiles.DimCapabilities) || len(p.Capabilities) != 0 || !strings.Contains(rec.Summary(), "capability checks not recorded: the tracer") {
		t.Errorf("without the tracer's recording: recorded %v, capabilities %v, summary %s", p.Recorded, p.Capabilities, rec.Summary())
	}
	rec.SetDeniedCaps([]profiles.Capability{{Name: "CAP_DAC_OVERRIDE", Denied: true}}, true)
	p = rec.Profile(time.Unix(1, 0), true)
	if !slices.Contains(p.Recorded, profiles.DimCapabilities) || len(p.Capabilities) != 1 || p.Capabilities[0].Granted || !p.Complete ||
		!strings.Contains(rec.Summary(), "capability checks denied: CAP_DAC_OVERRIDE") {
		t.Errorf("with the tracer's recording: recorded %v, capabilities %+v, complete %v, summary %s", p.Recorded, p.Capabilities, p.Complete, rec.Summary())
	}
	rec.SetDeniedCaps(nil, false)
	if p = rec.Profile(time.Unix(1, 0), true); p.Complete || !strings.Contains(rec.Summary(), "capability checks denied: none") {
		t.Errorf("a lossy tracer recording: complete %v, summary %s", p.Complete, rec.Summary())
	}
}
