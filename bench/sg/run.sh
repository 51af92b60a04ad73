#!/usr/bin/env bash
# bench/sg: group change apply time (10 vs 1000 rules) and TCP throughput on
# a subnet bridge (plain bridge vs 1000 rules); see bench.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec /usr/bin/python3 "$ROOT/bench/sg/bench.py" "$@"
