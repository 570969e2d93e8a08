package profiler

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LeaveCgroups moves the calling process into the root cgroup of every
// mounted hierarchy. A hook starts the tracer from inside an engine's
// process tree (podman's conmon, Docker's shim): without this the tracer
// would be accounted to, and killed with, the cgroup of the container
// start that happened to launch it.
func LeaveCgroups() error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	pid := []byte(strconv.Itoa(os.Getpid()))
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || len(fields) < 5 {
			continue
		}
		if fs := fields[sep+1]; fs != "cgroup" && fs != "cgroup2" {
			continue
		}
		if fields[3] != "/" {
			continue // a bind mount of a sub-cgroup: not the hierarchy's root
		}
		procs := filepath.Join(fields[4], "cgroup.procs")
		if err := os.WriteFile(procs, pid, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("move to %s: %w", procs, err))
		}
	}
	return errors.Join(errs...)
}
