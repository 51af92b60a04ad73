#!/usr/bin/env bash
# bench/imds: hostd-imds vs nginx, GET instance-id with a token, keep-alive,
# wrk from a guest stand-in; see bench.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec /usr/bin/python3 "$ROOT/bench/imds/bench.py" --hostd "${HOSTD:-$ROOT/build/bin/hostd}" \
	--ami "${AMI:-$ROOT/build/ami/tiny.qcow2}" "$@"
