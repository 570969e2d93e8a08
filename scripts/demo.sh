#!/usr/bin/env bash
# The tailor demo (make demo): learn a busybox container, show the profile
# and the seccomp filter generated from it, then enforce it: the workload
# still runs, and a syscall it never made is refused.
#
#   bash scripts/demo.sh [PATH-TO-TAILOR]    (as root; default bin/tailor)
set -euo pipefail

tailor=$(realpath "${1:-bin/tailor}")
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it runs containers and loads BPF programs)" >&2
	exit 1
fi
for tool in runc busybox "$tailor"; do
	command -v "$tool" >/dev/null || { echo "demo: $tool not found: run make prereqs build" >&2; exit 1; }
done

work=$(mktemp -d /tmp/tailor-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A rootfs with busybox-static and one symlink per applet.
rootfs() {
	local root=$1
	mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp}
	chmod 1777 "$root/tmp"
	cp "$(command -v busybox)" "$root/bin/busybox"
	busybox --list-full | while read -r applet; do
		[ "$applet" = bin/busybox ] && continue
		mkdir -p "$root/$(dirname "$applet")"
		ln -sf /bin/busybox "$root/$applet"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
	echo 'root:x:0:' >"$root/etc/group"
}

# bundle DIR SCRIPT: an OCI bundle running SCRIPT (a file in the rootfs).
bundle() {
	local dir=$1 script=$2
	mkdir -p "$dir"
	rootfs "$dir/rootfs"
	cp "$script" "$dir/rootfs/workload.sh"
	runc spec --bundle "$dir"
	sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"readonly": true/"readonly": false/' \
		-e 's|^\([[:space:]]*\)"sh"$|\1"/bin/sh", "/workload.sh"|' "$dir/config.json"
}

cat >"$work/workload.sh" <<'SCRIPT'
echo "hello from a busybox container"
echo data > /tmp/file
cat /tmp/file
ls / | wc -l
SCRIPT
# The same workload with one step appended that learning never saw.
{ cat "$work/workload.sh"; echo 'mkdir /tmp/new-dir'; } >"$work/refused.sh"

step "1. learn: run the bundle once under runc, recording what it does"
bundle "$work/learn" "$work/workload.sh"
"$tailor" learn --bundle "$work/learn" --name "tailor-demo-$$" -o "$work/profile.json" | tee "$work/learn.out"

step "2. the learned profile"
if "$tailor" report --help >/dev/null 2>&1; then
	"$tailor" report "$work/profile.json"
else
	grep -E '"(runtime|kernel|syscallBoundary|complete)"' "$work/profile.json" | sed 's/^ */  /'
	echo "  syscalls: $(sed -n 's/^          "name": "\(.*\)",$/\1/p' "$work/profile.json" | tr '\n' ' ')"
	echo "  capabilities checked (granted or denied): $(sed -n 's/^      "name": "\(CAP_.*\)",$/\1/p' "$work/profile.json" | tr '\n' ' ')"
fi

step "3. the seccomp filter generated from it (tailor generate --format seccomp)"
"$tailor" generate --format seccomp "$work/profile.json"

if ! "$tailor" apply --help >/dev/null 2>&1; then
	echo "(tailor apply is not built yet: enforcement is not shown)"
	exit 0
fi

step "4. enforce: apply the profile to the bundle and run it again"
"$tailor" apply --bundle "$work/learn" "$work/profile.json"
echo "(config.json now holds linux.seccomp and process.capabilities; the original is config.json.tailor-orig)"
runc run --bundle "$work/learn" "tailor-demo-enforced-$$" | tee "$work/enforced.out"
if ! cmp -s "$work/learn.out" "$work/enforced.out"; then
	echo "demo: the workload printed something else under its profile" >&2
	exit 1
fi
echo "-> same output as the learning run: the workload works under its profile"

step "5. what it never did is refused: the workload plus a mkdir"
bundle "$work/refused" "$work/refused.sh"
"$tailor" apply --bundle "$work/refused" "$work/profile.json" >/dev/null 2>&1
if runc run --bundle "$work/refused" "tailor-demo-refused-$$" >"$work/refused.out" 2>&1; then
	cat "$work/refused.out"
	echo "demo: mkdir was allowed under a profile that never learned it" >&2
	exit 1
fi
cat "$work/refused.out"
if ! grep -q 'mkdir: .*Operation not permitted' "$work/refused.out"; then
	echo "demo: the run failed, but not with mkdir refused (EPERM)" >&2
	exit 1
fi
echo "-> mkdir refused with EPERM (Operation not permitted): the profile never learned it"
