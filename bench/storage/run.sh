#!/usr/bin/env bash
# bench/storage: CreateSnapshot latency by chain depth and volume size, reads
# through a chain vs flattened, hostd vs virsh --disk-only; see bench.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec /usr/bin/python3 "$ROOT/bench/storage/bench.py" --hostd "${HOSTD:-$ROOT/build/bin/hostd}" "$@"
