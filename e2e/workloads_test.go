package e2e

import "testing"

// busyboxScript is the busybox workload of the learn tests: file I/O,
// directories, process creation, pipes and a few lookups. It avoids
// anything that differs between a container and the strace baseline's
// chroot (hostname, /dev, network, pids).
const busyboxScript = `set -e
echo hello > /tmp/a
cat /tmp/a > /tmp/b
cp /tmp/b /tmp/c
mkdir -p /tmp/d/e
ls -l /tmp > /tmp/ls.out
wc -c /tmp/a
rm -r /tmp/d
uname -a
id
sha256sum /tmp/a
sed -e s/hello/bye/ /tmp/a | tr a-z A-Z
echo busybox workload ok
`

// busyboxWorkload runs busyboxScript in the plain busybox rootfs.
func busyboxWorkload(t testing.TB) workload {
	t.Helper()
	return workload{Name: "busybox", Image: busyboxRootfs(t), Args: []string{"/bin/sh", "-c", busyboxScript},
		Want: "busybox workload ok"}
}
