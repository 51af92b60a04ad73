#!/usr/bin/env bash
# bench/api: DescribeKeyPairs and DescribeTags throughput and p50/p99 latency,
# hostd vs moto_server, same data (100 key pairs x 10 tags). See bench/README.md.
# Extra arguments go to bench.py (e.g. --rounds 5 --duration 20).
# Exit 0 with figures (goals are reported, not gating); non-zero when broken.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HOSTD=${HOSTD:-$ROOT/build/bin/hostd}
# moto runs from the pyenv interpreter (moto 5.2.1); the client side
# (boto3/botocore, signing) is Debian's python3. The two never share a process.
MOTO_SERVER=${MOTO_SERVER:-/root/.pyenv/shims/moto_server}
MOTO_PYTHON=${MOTO_PYTHON:-/root/.pyenv/shims/python3}
PY=${BENCH_PYTHON:-/usr/bin/python3}

die() { echo "bench-api: $*" >&2; exit 2; }
[ -x "$HOSTD" ] || die "no $HOSTD; run 'make all' (or 'make bench-api')"
command -v wrk >/dev/null || die "wrk not installed; run 'make deps' (scripts/deps.sh)"
[ -x "$MOTO_SERVER" ] || die "no moto_server at $MOTO_SERVER (set MOTO_SERVER)"
"$PY" -c 'import boto3' 2>/dev/null || die "$PY has no boto3"

WORK=$(mktemp -d /tmp/hostd-bench-api.XXXXXX)
BENCH_PID=
cleanup() {
	local f pid
	# Let bench.py stop its servers (it handles TERM), then catch any a
	# bench.py that died hard left behind (it removes a pid file once reaped).
	if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
		kill -TERM "$BENCH_PID" 2>/dev/null || true
		wait "$BENCH_PID" 2>/dev/null || true
	fi
	for f in "$WORK"/hostd.pid "$WORK"/moto.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cd "$ROOT"
# In the background + wait, so that a signal to this script runs the trap at once.
env -u PYTHONPATH -u PYTHONHOME "$PY" "$ROOT/bench/api/bench.py" \
	--hostd "$HOSTD" --moto-server "$MOTO_SERVER" --moto-python "$MOTO_PYTHON" \
	--wrk "$(command -v wrk)" --workdir "$WORK" "$@" &
BENCH_PID=$!
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=
exit "$rc"
