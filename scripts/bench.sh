#!/usr/bin/env bash
# Runs tailor's benchmarks (issue 5) on this machine, as root: prints a
# table and writes bench/results.json. Takes about 15 minutes.
#
#   bash scripts/bench.sh [TAILOR_BIN]        # make bench
#   BENCH_ARGS="-quick -only hook,enforce" make bench   # check the harness
#
# Benchmarks are not tests: nothing here runs under `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-bin/tailor}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (it runs containers and loads BPF programs)" >&2
	exit 1
fi
export PATH=$PATH:/usr/local/go/bin
go build -o bin/tailor-bench ./bench/cmd/tailor-bench
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
exec bin/tailor-bench -tailor "$bin" -o bench/results.json ${BENCH_ARGS:-}
