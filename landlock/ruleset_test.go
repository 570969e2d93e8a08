package landlock

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func sample() *Ruleset {
	return &Ruleset{ABI: 6, HandledFS: AllFS, HandledNet: NetBindTCP | NetConnectTCP, Scoped: ScopeAbstractUnix | ScopeSignal,
		Paths: []PathRule{{Path: "/usr", Type: TypeDir, Follow: true, Access: FSReadFile | FSReadDir | FSExecute},
			{Path: "/tmp", Type: TypeDir, Access: FSWriteFile | FSMakeReg | FSTruncate},
			{Path: "/dev/null", Type: TypeChar, Access: FSWriteFile | FSIoctlDev}},
		Ports: []PortRule{{Port: 6379, Access: NetBindTCP | NetConnectTCP}}}
}

func TestAllows(t *testing.T) {
	r := sample()
	for _, c := range []struct {
		name string
		path string
		need FSAccess
		want bool
	}{
		{"read beneath a granted directory", "/usr/lib/libc.so", FSReadFile, true},
		{"the directory itself", "/usr", FSReadDir, true},
		{"a sibling sharing a prefix", "/usrx/a", FSReadFile, false},
		{"write where only read is granted", "/usr/lib/x", FSWriteFile, false},
		{"exec from /tmp", "/tmp/x", FSExecute, false},
		{"read outside every rule", "/etc/shadow", FSReadFile, false},
		{"two rights from one rule", "/tmp/a", FSWriteFile | FSTruncate, true},
		{"a file rule is exact", "/dev/null", FSWriteFile, true},
		{"no right needed", "/etc/shadow", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := r.Allows(c.path, c.need); got != c.want {
				t.Errorf("Allows(%q, %s) = %t, want %t", c.path, c.need, got, c.want)
			}
		})
	}
	if !r.AllowsPort(6379, NetConnectTCP) || r.AllowsPort(9, NetConnectTCP) || r.AllowsPort(9, NetBindTCP) {
		t.Error("ports: want 6379 allowed, 9 refused")
	}
	r.HandledNet = 0
	if !r.AllowsPort(9, NetConnectTCP) {
		t.Error("a network right that is not handled is not restricted")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sample()
	r.Paths = append(r.Paths, PathRule{Path: "/srv/a\nb\xff", Type: TypeNotDir, Access: FSReadFile})
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"pathBase64"`) || !strings.Contains(string(data), `"read_file"`) {
		t.Errorf("want names and pathBase64 for a non-UTF-8 path: %s", data)
	}
	var back Ruleset
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Paths, r.Paths) || back.Scoped != r.Scoped {
		t.Errorf("round trip: %+v, want %+v", back, r)
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(r *Ruleset)
		want string
	}{
		{"relative path", func(r *Ruleset) { r.Paths[0].Path = "usr" }, "absolute"},
		{"dot-dot", func(r *Ruleset) { r.Paths[0].Path = "/usr/../etc" }, "not clean"},
		{"NUL", func(r *Ruleset) { r.Paths[0].Path = "/usr\x00" }, "NUL"},
		{"duplicate", func(r *Ruleset) { r.Paths[1].Path = "/usr" }, "twice"},
		{"unhandled right", func(r *Ruleset) { r.HandledFS = FSReadFile }, "not within"},
		{"empty access", func(r *Ruleset) { r.Paths[0].Access = 0 }, "empty"},
		{"no type", func(r *Ruleset) { r.Paths[1].Type = "" }, "type"},
		{"unknown type", func(r *Ruleset) { r.Paths[1].Type = "door" }, "type"},
		{"directory rights on a file", func(r *Ruleset) { r.Paths[2].Access |= FSReadDir }, "only"},
		{"directory rights on a file of unknown type", func(r *Ruleset) {
			r.Paths[2].Type, r.Paths[2].Access = TypeNotDir, FSMakeReg
		}, "only"},
		{"ABI too low for scopes", func(r *Ruleset) { r.ABI = 5 }, "need ABI 6"},
		{"ABI unknown", func(r *Ruleset) { r.ABI = 99 }, "want 1 to"},
		{"port duplicate", func(r *Ruleset) { r.Ports = append(r.Ports, r.Ports[0]) }, "twice"},
		{"port right not handled", func(r *Ruleset) { r.HandledNet = NetBindTCP }, "not within"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := sample()
			c.edit(r)
			if err := r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate: %v, want an error with %q", err, c.want)
			}
		})
	}
	if _, err := ParseHelperConfig([]byte(`{"ruleset": {"abi": 1, "handledAccessFS": ["read_file", "fly"]}}`)); err == nil ||
		!strings.Contains(err.Error(), "unknown right") {
		t.Errorf("unknown right: %v", err)
	}
	if _, err := ParseHelperConfig([]byte(`{"ruleset": {"abi": 1}, "extra": 1}`)); err == nil {
		t.Error("an unknown field was accepted")
	}
	if _, err := ParseHelperConfig([]byte(`{"ruleset": {"abi": 1, "handledAccessFS": []}, "seccomp": "AAAA"}`)); err == nil ||
		!strings.Contains(err.Error(), "8-byte") {
		t.Errorf("a seccomp program of 3 bytes: %v", err)
	}
}

func TestFileTypeMatches(t *testing.T) {
	for _, c := range []struct {
		rule, got FileType
		want      bool
	}{
		{TypeRegular, TypeRegular, true},
		{TypeRegular, TypeDir, false},
		{TypeRegular, TypeSymlink, false},
		{TypeDir, TypeRegular, false},
		{TypeChar, TypeFIFO, false},
		{TypeNotDir, TypeFIFO, true},
		{TypeNotDir, TypeDir, false},
	} {
		if got := c.rule.Matches(c.got); got != c.want {
			t.Errorf("a rule on a %s found on a %s: Matches = %t, want %t", c.rule, c.got, got, c.want)
		}
	}
}

func TestDowngrade(t *testing.T) {
	r := sample()
	for _, c := range []struct {
		abi     int
		dropped []string
		check   func(d *Ruleset) bool
	}{
		{6, nil, func(d *Ruleset) bool { return d.HandledFS == AllFS && len(d.Ports) == 1 }},
		{5, []string{"abstract_unix_socket (ABI 6)", "signal (ABI 6)"}, func(d *Ruleset) bool { return d.Scoped == 0 && d.HandledFS == AllFS }},
		{3, []string{"ioctl_dev (ABI 5)", "bind_tcp (ABI 4)", "connect_tcp (ABI 4)", "abstract_unix_socket (ABI 6)", "signal (ABI 6)"},
			func(d *Ruleset) bool {
				rule, _ := d.Rule("/dev/null")
				return d.HandledNet == 0 && len(d.Ports) == 0 && rule.Access == FSWriteFile && d.HandledFS&FSTruncate != 0
			}},
		{1, nil, func(d *Ruleset) bool {
			rule, _ := d.Rule("/tmp")
			return d.HandledFS&(FSRefer|FSTruncate) == 0 && rule.Access == FSWriteFile|FSMakeReg
		}},
		{0, []string{"everything: the kernel has no Landlock (not built, or not in the lsm= list)"},
			func(d *Ruleset) bool { return d.HandledFS == 0 && len(d.Paths) == 0 }},
	} {
		d, dropped := r.Downgrade(c.abi)
		if c.dropped != nil && !slices.Equal(dropped, c.dropped) {
			t.Errorf("ABI %d: dropped %q, want %q", c.abi, dropped, c.dropped)
		}
		if !c.check(d) {
			t.Errorf("ABI %d: downgraded to %+v", c.abi, d)
		}
		if c.abi >= 1 {
			if err := d.Validate(); err != nil {
				t.Errorf("ABI %d: the downgraded ruleset is invalid: %v", c.abi, err)
			}
		}
	}
	if _, dropped := r.Downgrade(1); !slices.ContainsFunc(dropped, func(s string) bool { return strings.Contains(s, "EXDEV") }) {
		t.Errorf("ABI 1 must say that renames across directories fail: %q", dropped)
	}
}

func TestHelperArgs(t *testing.T) {
	args := []string{"/bin/sh", "-c", "echo -- --config"}
	cfg, back, ok := ParseHelperArgs(HelperArgs(args))
	if !ok || cfg != ConfigPath || !slices.Equal(back, args) {
		t.Errorf("ParseHelperArgs(HelperArgs(%q)) = %q, %q, %t", args, cfg, back, ok)
	}
	for _, argv := range [][]string{nil, {HelperPath, "--config", ConfigPath, "--"}, {"/bin/sh", "--config", "x", "--", "y"}} {
		if _, _, ok := ParseHelperArgs(argv); ok {
			t.Errorf("ParseHelperArgs(%q) accepted", argv)
		}
	}
}
