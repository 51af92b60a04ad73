#!/usr/bin/env bash
# bench/launch: RunInstances -> first console marker vs bare QEMU; see bench.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec /usr/bin/python3 "$ROOT/bench/launch/bench.py" --hostd "${HOSTD:-$ROOT/build/bin/hostd}" \
	--ami "${AMI:-$ROOT/build/ami/tiny.qcow2}" "$@"
