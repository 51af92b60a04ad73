#!/bin/bash
# Boot-and-login smoke test for the Debian 12 AMI (images/debian/README.md).
#
# Boots a throw-away qcow2 overlay of the image with bare QEMU under TCG
# (i440fx "pc", SeaBIOS, virtio disk, virtio-net on QEMU's user network with
# restrict=on and only an ssh port forward on 127.0.0.1), with the SMBIOS
# hostd gives its guests and a NoCloud seed disk ("cidata") that carries a
# fresh ssh key and a runcmd marker. Then:
#   - waits for ssh as the default user "debian" (BOOT_TIMEOUT, 480 s)
#   - `cloud-init status --wait` must say "status: done"
#   - the runcmd marker must be on the serial console
#   - ds-identify must have recognised the SMBIOS as EC2 (Ec2 in the list)
#   - `sudo poweroff`; QEMU must exit with status 0 (EXIT_TIMEOUT, 120 s)
# With --suite (make debian-suite) it also checks that the hostname came from
# meta-data, that cloud-init grew the root partition and filesystem to a
# larger volume (the overlay is GROW_MB, 4096 MiB), that no systemd unit
# failed, and reboots once: ssh must answer again with a new boot id, the
# per-instance runcmd must not run again and the root filesystem must keep
# a file written before the reboot.
#
#   bash images/debian/smoke.sh [--suite] [IMAGE]   (default build/ami/debian-12.qcow2)
# KEEP=1 keeps the work directory (serial log, key, seed) for debugging.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITE=
if [ "${1:-}" = --suite ]; then SUITE=1; shift; fi
IMG=$(realpath "${1:-$HERE/../../build/ami/debian-12.qcow2}")
BOOT_TIMEOUT=${BOOT_TIMEOUT:-480}
CLOUD_INIT_TIMEOUT=${CLOUD_INIT_TIMEOUT:-300}
EXIT_TIMEOUT=${EXIT_TIMEOUT:-120}
GROW_MB=${GROW_MB:-4096}
USER_NAME=debian
NAME=debian-smoke
[ -z "$SUITE" ] || NAME=debian-suite

log() { echo "$NAME: $*" >&2; }

# --- host tools (installed like build.sh does, from ./deps) -------------------
missing=$(grep -v '^#' "$HERE/deps" | while read -r p; do
    [ -n "$p" ] || continue
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
done)
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || { log "missing packages: $missing (apt-get install them)"; exit 1; }
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
fi
[ -f "$IMG" ] || { log "no image $IMG (make debian-ami)"; exit 1; }

T=$(mktemp -d "/tmp/$NAME.XXXXXX")
QPID=
cleanup() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        kill "$QPID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
    fi
    if [ -n "${KEEP:-}" ]; then log "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SERIAL=$T/serial.log
now() { date +%s; }
START=$(now)
elapsed() { echo "$(( $(now) - START ))s"; }
fail() {
    log "FAIL after $(elapsed): $*"
    {
        echo "--- last 80 lines of the serial console ($SERIAL) ---"
        # GRUB's terminal escapes and the \r of the serial line make it unreadable
        tail -n 80 "$SERIAL" 2>/dev/null | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g'
        echo "--- end of serial console ---"
    } >&2
    exit 1
}

# --- ssh key, NoCloud seed, SMBIOS --------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C "$NAME" -f "$T/key"
NONCE=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
MARKER="HOSTD-DEBIAN: runcmd $NONCE"
IID=i-0$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-16)
HOSTNAME_MD=hostd-$NONCE
# EC2's shape: uuid and serial equal, lowercase, beginning with "ec2".
UUID=ec2$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | cut -c4-32)
UUID=${UUID:0:8}-${UUID:8:4}-${UUID:12:4}-${UUID:16:4}-${UUID:20:12}

cat >"$T/meta-data" <<EOF
instance-id: $IID
local-hostname: $HOSTNAME_MD
EOF
cat >"$T/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$T/key.pub")
runcmd:
  - [ sh, -c, 'echo "$MARKER" >/dev/ttyS0' ]
EOF
mkfs.fat -C -n CIDATA "$T/seed.img" 1024 >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -i "$T/seed.img" "$T/meta-data" "$T/user-data" ::/

if [ -n "$SUITE" ]; then
    qemu-img create -q -f qcow2 -b "$IMG" -F qcow2 "$T/disk.qcow2" "${GROW_MB}M"
else
    qemu-img create -q -f qcow2 -b "$IMG" -F qcow2 "$T/disk.qcow2"
fi

# A free loopback port for the ssh forward.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

QEMU=(qemu-system-x86_64 -accel tcg -M pc -m 1024 -smp 2
      -display none -vga std -serial "file:$SERIAL"
      -qmp "unix:$T/qmp.sock,server=on,wait=off"
      -smbios "type=1,manufacturer=Amazon EC2,product=t3.micro,version=1.0,serial=$UUID,uuid=$UUID"
      -drive "file=$T/disk.qcow2,if=virtio,format=qcow2,discard=unmap"
      -drive "file=$T/seed.img,if=virtio,format=raw,readonly=on"
      -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:22")
: >"$SERIAL"
log "booting $(basename "$IMG") (uuid $UUID, ssh on 127.0.0.1:$PORT)"
"${QEMU[@]}" >"$T/qemu.log" 2>&1 &
QPID=$!

SSH=(ssh -F /dev/null -i "$T/key" -p "$PORT" -o IdentitiesOnly=yes -o BatchMode=yes
     -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
     -o ConnectTimeout=20 -o ServerAliveInterval=10 -o ServerAliveCountMax=3
     "$USER_NAME@127.0.0.1")
guest() { timeout 120 "${SSH[@]}" "$@"; }

qemu_alive() {
    kill -0 "$QPID" 2>/dev/null && return 0
    cat "$T/qemu.log" >&2
    fail "QEMU exited early"
}

wait_ssh() { # wait_ssh WHAT: until the key logs in, BOOT_TIMEOUT from now
    local t0 deadline
    t0=$(now); deadline=$(( t0 + BOOT_TIMEOUT ))
    until timeout 30 "${SSH[@]}" true 2>/dev/null; do
        qemu_alive
        [ "$(now)" -lt "$deadline" ] || fail "no ssh login within ${BOOT_TIMEOUT}s ($1)"
        sleep 5
    done
    log "ssh login after $(( $(now) - t0 ))s ($1)"
}

wait_ssh "first boot"
grep -q 'Linux version' "$SERIAL" || fail "no kernel messages on the serial console"

st=$(timeout "$CLOUD_INIT_TIMEOUT" "${SSH[@]}" cloud-init status --wait --long 2>&1) ||
    { echo "$st" >&2; fail "cloud-init status --wait failed or timed out"; }
echo "$st" | sed 's/^/    /' >&2
echo "$st" | grep -q '^status: done' ||
    { guest sudo tail -n 40 /var/log/cloud-init.log >&2 || true; fail "cloud-init did not finish with 'status: done'"; }
log "cloud-init done after $(elapsed)"

# runcmd runs in cloud-final, which status --wait waited for.
grep -qa "$MARKER" "$SERIAL" || fail "runcmd marker '$MARKER' not on the serial console"
log "runcmd marker on the serial console"

# ds-identify's verdict: Ec2 must be recognised from the SMBIOS alone.
dsl=$(guest cat /run/cloud-init/cloud.cfg) || fail "cannot read /run/cloud-init/cloud.cfg"
echo "$dsl" | grep -q 'datasource_list:.*Ec2' ||
    { guest cat /run/cloud-init/ds-identify.log >&2 || true; fail "ds-identify did not detect Ec2: $dsl"; }
log "ds-identify: $(echo "$dsl" | grep datasource_list)"

if [ -n "$SUITE" ]; then
    h=$(guest hostname)
    [ "$h" = "$HOSTNAME_MD" ] || fail "hostname is '$h', expected '$HOSTNAME_MD' from meta-data"
    log "hostname $h (from meta-data)"

    # growpart + resizefs: the filesystem must span (almost) the whole volume.
    root_mb=$(guest df -BM --output=size / | tail -n 1 | tr -dc 0-9)
    [ "$root_mb" -gt $(( GROW_MB * 9 / 10 )) ] ||
        { guest lsblk >&2 || true; fail "root filesystem is ${root_mb} MiB on a ${GROW_MB} MiB volume (growpart/resizefs)"; }
    log "root filesystem grown to ${root_mb} MiB"

    # cloud-init's own log: no Python traceback; warnings are listed.
    if guest sudo grep -aq Traceback /var/log/cloud-init.log; then
        guest sudo grep -a -B5 -A20 Traceback /var/log/cloud-init.log >&2 || true
        fail "Python traceback in /var/log/cloud-init.log"
    fi
    warnings=$(guest sudo grep -a ' WARNING' /var/log/cloud-init.log || true)
    [ -z "$warnings" ] || { log "cloud-init warnings:"; echo "$warnings" | sed 's/^/    /' >&2; }
    log "cloud-init.log: no traceback, $(echo -n "$warnings" | grep -c . || true) warnings"

    state=$(guest systemctl is-system-running || true)
    [ "$state" = running ] ||
        { guest systemctl --failed --no-pager >&2 || true; fail "systemd state is '$state'"; }
    log "systemd: running, no failed units"

    boot1=$(guest cat /proc/sys/kernel/random/boot_id)
    # (ssh hands the remote shell one string: quote the whole command)
    guest 'echo persisted | sudo tee /var/tmp/hostd-suite >/dev/null && sync'
    log "rebooting"
    guest sudo systemctl reboot || true
    # Wait for the old sshd to go away before polling for the new boot.
    for _ in $(seq 60); do
        b=$(timeout 15 "${SSH[@]}" cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
        [ -n "$b" ] && [ "$b" = "$boot1" ] || break
        sleep 2
    done
    wait_ssh "reboot"
    boot2=$(guest cat /proc/sys/kernel/random/boot_id)
    [ "$boot2" != "$boot1" ] || fail "boot id unchanged after reboot"
    st=$(timeout "$CLOUD_INIT_TIMEOUT" "${SSH[@]}" cloud-init status --wait 2>&1) || true
    echo "$st" | grep -q '^status: done' || fail "cloud-init after reboot: $st"
    [ "$(guest cat /var/tmp/hostd-suite)" = persisted ] || fail "file written before the reboot is gone"
    n=$(grep -ac "$MARKER" "$SERIAL" || true)
    [ "$n" = 1 ] || fail "per-instance runcmd marker seen $n times after the reboot (expected 1)"
    log "reboot: new boot id, cloud-init done, data kept, runcmd not repeated"
fi

# --- power off: the guest shuts down and QEMU exits by itself -----------------
log "sudo poweroff"
t0=$(now)
guest sudo poweroff >/dev/null 2>&1 || true # the connection may drop first
deadline=$(( t0 + EXIT_TIMEOUT ))
while kill -0 "$QPID" 2>/dev/null; do
    [ "$(now)" -lt "$deadline" ] || fail "QEMU still running ${EXIT_TIMEOUT}s after poweroff"
    sleep 1
done
rc=0
wait "$QPID" || rc=$?
QPID=
[ "$rc" = 0 ] || { cat "$T/qemu.log" >&2; fail "QEMU exit status $rc"; }
grep -qa 'reboot: Power down' "$SERIAL" || fail "no 'reboot: Power down' on the serial console"
log "guest powered off, QEMU exited 0 after $(( $(now) - t0 ))s"
log "PASS in $(elapsed)"
