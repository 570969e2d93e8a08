package ocitest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// hugetlbDir is where PrepareCrun mounts the hugetlb controller.
const hugetlbDir = "/sys/fs/cgroup/hugetlb"

// PrepareCrun makes crun 1.8 run on a host with hybrid cgroups (v1
// controllers on a tmpfs at /sys/fs/cgroup): crun refuses to ("cgroups in
// hybrid mode not supported") while the hugetlb controller is not mounted
// as v1. It mounts the controller when missing and returns what undoes
// that; undo is nil when there was nothing to do.
func PrepareCrun() (undo func() error, err error) {
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("crun setup: %w", err)
	}
	if !needsHugetlb(info) {
		return nil, nil
	}
	_, statErr := os.Stat(hugetlbDir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(hugetlbDir, 0o755); err != nil {
		return nil, fmt.Errorf("crun setup: %w", err)
	}
	if out, err := exec.Command("mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", hugetlbDir).CombinedOutput(); err != nil {
		if created {
			os.Remove(hugetlbDir)
		}
		return nil, fmt.Errorf("crun setup: mount hugetlb cgroup v1: %w: %s", err, out)
	}
	return func() error {
		if out, err := exec.Command("umount", hugetlbDir).CombinedOutput(); err != nil {
			return fmt.Errorf("umount %s: %w: %s", hugetlbDir, err, out)
		}
		if created {
			return os.Remove(hugetlbDir)
		}
		return nil
	}, nil
}

// needsHugetlb reports, from /proc/self/mountinfo, whether /sys/fs/cgroup
// is a tmpfs of v1 controllers (as opposed to a cgroup2 mount) and no v1
// hierarchy with the hugetlb controller is mounted anywhere.
func needsHugetlb(mountinfo []byte) bool {
	hybrid, hugetlb := false, false
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		line := sc.Text()
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/sys/fs/cgroup" {
			hybrid = strings.Contains(line, " - tmpfs ")
		}
		if _, after, ok := strings.Cut(line, " - cgroup "); ok {
			if f := strings.Fields(after); len(f) > 1 && slices.Contains(strings.Split(f[1], ","), "hugetlb") {
				hugetlb = true
			}
		}
	}
	return hybrid && !hugetlb
}
