package ocitest

import "testing"

func TestNeedsHugetlb(t *testing.T) {
	const (
		tmpfsRoot   = "25 1 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
		unified     = "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
		memory      = "30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec shared:14 - cgroup cgroup rw,memory\n"
		hugetlb     = "40 25 0:37 / /sys/fs/cgroup/hugetlb rw,relatime - cgroup cgroup rw,hugetlb\n"
		cgroup2Root = "25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	)
	tests := []struct {
		name      string
		mountinfo string
		want      bool
	}{
		{name: "hybrid without hugetlb", mountinfo: tmpfsRoot + unified + memory, want: true},
		{name: "hybrid with hugetlb", mountinfo: tmpfsRoot + unified + memory + hugetlb, want: false},
		{name: "pure cgroup2", mountinfo: cgroup2Root, want: false},
		{name: "no cgroups mounted", mountinfo: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsHugetlb([]byte(tt.mountinfo)); got != tt.want {
				t.Errorf("needsHugetlb = %v, want %v", got, tt.want)
			}
		})
	}
}
