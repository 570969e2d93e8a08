#!/usr/bin/env bash
# Installs what building, testing and demoing tailor needs on Debian 12, as
# root. Idempotent: apt-get runs only for packages that are missing.
#
#   bash scripts/install-prereqs.sh               # everything `make test` needs
#   bash scripts/install-prereqs.sh --no-engines  # without podman and docker.io
#
# Host quirks the tests need (the crun hugetlb v1 mount, tracefs, bpffs) are
# set up and undone by the code that needs them, not here.
set -euo pipefail

# Running containers: the runtimes, a static shell for test rootfs, strace
# for the e2e baseline.
runtime_pkgs=(runc crun busybox-static strace)
# Building tailor (cgo for libseccomp; tailor-hook and tailor-landlock are
# static, without cgo) and the e2e test binaries (-m32).
build_pkgs=(gcc make pkg-config libseccomp-dev gcc-multilib libc6-dev-i386)
# Regenerating the committed BPF objects (make generate).
bpf_pkgs=(clang llvm libbpf-dev bpftool)
# Validating generated AppArmor profiles (apparmor_parser); a real OCI
# registry for the push/pull tests (registry/, cmd/tailor), which start their
# own on a free loopback port.
other_pkgs=(apparmor docker-registry)
# The engine tests (e2e/engines_test.go) run podman and a private dockerd;
# installing docker.io starts no daemon on these machines.
engine_pkgs=(podman docker.io)

engines=true
for arg in "$@"; do
	case "$arg" in
	--engines) engines=true ;;
	--no-engines) engines=false ;;
	-h | --help)
		sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-prereqs: unknown argument $arg (use --no-engines or --help)" >&2
		exit 2
		;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "install-prereqs: run as root (it installs packages with apt-get)" >&2
	exit 1
fi

pkgs=("${runtime_pkgs[@]}" "${build_pkgs[@]}" "${bpf_pkgs[@]}" "${other_pkgs[@]}")
if $engines; then
	pkgs+=("${engine_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-prereqs: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "install-prereqs: all packages present"
fi

# Go is not packaged recent enough in Debian 12; it must already be in
# /usr/local/go (or on PATH).
export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
	echo "install-prereqs: go not found; install Go >= 1.26 into /usr/local/go" >&2
	exit 1
fi
goversion=$(go env GOVERSION) # e.g. go1.26.8
minor=$(echo "$goversion" | sed -E 's/^go1\.([0-9]+).*/\1/')
if ! [[ "$minor" =~ ^[0-9]+$ ]] || [ "$minor" -lt 26 ]; then
	echo "install-prereqs: $goversion found, tailor needs Go >= 1.26" >&2
	exit 1
fi
echo "install-prereqs: $goversion at $(command -v go)"
