package landlock

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestHelperSyscallsDocumented keeps docs/landlock.md's table of the
// helper's syscalls, which users read to know what exec sessions get, in
// step with HelperSyscalls.
func TestHelperSyscallsDocumented(t *testing.T) {
	data, err := os.ReadFile("../docs/landlock.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## The helper's own syscalls\n")
	if !ok {
		t.Fatal(`docs/landlock.md has no "## The helper's own syscalls" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []string
	for _, line := range strings.Split(section, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 && strings.HasPrefix(line, "| `") {
			for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(cells[1], -1) {
				documented = append(documented, m[1])
			}
		}
	}
	names := HelperSyscallNames()
	slices.Sort(documented)
	slices.Sort(names)
	if !slices.Equal(documented, names) {
		t.Errorf("docs/landlock.md lists %q, landlock.HelperSyscalls %q", documented, names)
	}
}
