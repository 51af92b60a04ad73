#!/bin/bash
# Smoke test for the tiny AMI: boot it with bare QEMU (SeaBIOS, TCG, no
# network) on a throw-away qcow2 overlay, wait for "HOSTD-TINY: ready" on the
# serial console (60 s), send an ACPI power button press (system_powerdown),
# and check the guest says "HOSTD-TINY: poweroff" and QEMU exits (30 s).
#   bash images/tiny/smoke.sh [IMAGE]      (default build/ami/tiny.qcow2)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMG=$(realpath "${1:-$HERE/../../build/ami/tiny.qcow2}")
READY_TIMEOUT=${READY_TIMEOUT:-60}
EXIT_TIMEOUT=${EXIT_TIMEOUT:-30}

if ! command -v qemu-system-x86_64 >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "smoke: qemu-system-x86_64 missing" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null
fi
[ -f "$IMG" ] || { echo "smoke: no image $IMG (make tiny-ami)" >&2; exit 1; }

T=$(mktemp -d /tmp/tiny-smoke.XXXXXX)
QPID=
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

qemu-img create -q -f qcow2 -b "$IMG" -F qcow2 "$T/disk.qcow2"
: >"$T/serial.txt"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
has() { grep -qa "$1" "$T/serial.txt"; }
fail() {
    echo "smoke: FAIL: $*" >&2
    echo "--- serial console ---" >&2
    tr -d '\r' <"$T/serial.txt" >&2
    exit 1
}

start=$(now)
qemu-system-x86_64 -accel tcg -m 256 -nic none -display none -no-reboot \
    -drive file="$T/disk.qcow2",if=virtio \
    -serial file:"$T/serial.txt" \
    -monitor unix:"$T/mon.sock",server,nowait &
QPID=$!

first=
deadline=$(( $(date +%s) + READY_TIMEOUT ))
while ! has 'HOSTD-TINY: ready'; do
    [ -z "$first" ] && has 'HOSTD-TINY: boot' && first=$(since "$start")
    kill -0 "$QPID" 2>/dev/null || fail "QEMU exited before ready"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no 'HOSTD-TINY: ready' within ${READY_TIMEOUT}s"
    sleep 0.1
done
[ -n "$first" ] || first=$(since "$start")
echo "smoke: first marker after ${first}s, ready after $(since "$start")s"

down=$(now)
python3 - "$T/mon.sock" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"system_powerdown\n")
time.sleep(0.5)
s.close()
EOF
deadline=$(( $(date +%s) + EXIT_TIMEOUT ))
while kill -0 "$QPID" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "QEMU still running ${EXIT_TIMEOUT}s after system_powerdown"
    sleep 0.1
done
rc=0
wait "$QPID" || rc=$?
QPID=
echo "smoke: QEMU exited (rc=$rc) $(since "$down")s after system_powerdown"
has 'HOSTD-TINY: poweroff' || fail "no 'HOSTD-TINY: poweroff' marker"
[ "$rc" = 0 ] || fail "QEMU exit status $rc"
echo "--- serial console ---"
tr -d '\r' <"$T/serial.txt"
echo "smoke: PASS"
