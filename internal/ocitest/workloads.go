package ocitest

// BusyboxScript is the busybox workload (/bin/sh -c) the learn tests and
// the attack-surface benchmark share: file I/O, directories, process
// creation, pipes and a few lookups. It avoids anything that differs
// between a container and the strace baseline's chroot (hostname, /dev,
// network, pids). It prints BusyboxWant when it succeeded.
const BusyboxScript = `set -e
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
echo ` + BusyboxWant + `
`

// BusyboxWant is what BusyboxScript prints last.
const BusyboxWant = "busybox workload ok"
