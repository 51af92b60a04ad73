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
# larger volume (the overlay is GROW_MB, 4096 MiB), that cloud-init logged
# no traceback, that no systemd unit failed, and reboots once: ssh must answer
# again with a new boot id, the per-instance runcmd must not run again and
# the root filesystem must keep a file written before the reboot. Then it
# boots a second overlay without a seed, with imds-stub.py answering at
# 169.254.169.254 (IMDSv2, through QEMU's guestfwd to a command, so nothing
# listens on a socket): the Ec2 datasource must log the key from public-keys
# in, run the user-data and set instance-id and hostname from meta-data.
# That boot has its root disk on virtio-scsi (sda) instead of virtio-blk.
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

SERIAL=$T/serial.log   # the current boot's console (boot_guest sets it)
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

free_port() { # a free loopback port for an ssh forward
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# boot_guest TAG NIC-OPTIONS QEMU-ARGS...: start QEMU in the background
# (QPID) with the console in $T/TAG.serial.log (SERIAL) and ssh forwarded
# from 127.0.0.1:PORT; the NIC is virtio-net on QEMU's user network with
# restrict=on: the guest reaches nothing but the forwards. The disks come
# in QEMU-ARGS.
boot_guest() {
    local tag=$1 nic=$2
    shift 2
    PORT=$(free_port)
    SERIAL=$T/$tag.serial.log
    : >"$SERIAL"
    log "booting $(basename "$IMG") ($tag; uuid $UUID, ssh on 127.0.0.1:$PORT)"
    qemu-system-x86_64 -accel tcg -M pc -m 1024 -smp 2 \
        -display none -vga std -serial "file:$SERIAL" \
        -qmp "unix:$T/$tag.qmp.sock,server=on,wait=off" \
        -smbios "type=1,manufacturer=Amazon EC2,product=t3.micro,version=1.0,serial=$UUID,uuid=$UUID" \
        -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:22$nic" \
        "$@" >"$T/$tag.qemu.log" 2>&1 &
    QPID=$!
    SSH=(ssh -F /dev/null -i "$T/key" -p "$PORT" -o IdentitiesOnly=yes -o BatchMode=yes
         -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
         -o ConnectTimeout=20 -o ServerAliveInterval=10 -o ServerAliveCountMax=3
         "$USER_NAME@127.0.0.1")
}
guest() { timeout 120 "${SSH[@]}" "$@"; }

qemu_alive() {
    kill -0 "$QPID" 2>/dev/null && return 0
    cat "$T"/*.qemu.log >&2
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

cloud_init_done() { # `cloud-init status --wait` must say "status: done"
    local st
    st=$(timeout "$CLOUD_INIT_TIMEOUT" "${SSH[@]}" cloud-init status --wait --long 2>&1) ||
        { echo "$st" >&2; fail "cloud-init status --wait failed or timed out"; }
    echo "$st" | sed 's/^/    /' >&2
    echo "$st" | grep -q '^status: done' ||
        { guest sudo tail -n 40 /var/log/cloud-init.log >&2 || true; fail "cloud-init did not finish with 'status: done'"; }
    log "cloud-init done after $(elapsed)"
}

power_off() { # sudo poweroff; QEMU must exit by itself with status 0
    local t0 deadline rc=0
    log "sudo poweroff"
    t0=$(now)
    guest sudo poweroff >/dev/null 2>&1 || true # the connection may drop first
    deadline=$(( t0 + EXIT_TIMEOUT ))
    while kill -0 "$QPID" 2>/dev/null; do
        [ "$(now)" -lt "$deadline" ] || fail "QEMU still running ${EXIT_TIMEOUT}s after poweroff"
        sleep 1
    done
    wait "$QPID" || rc=$?
    QPID=
    [ "$rc" = 0 ] || { cat "$T"/*.qemu.log >&2; fail "QEMU exit status $rc"; }
    grep -qa 'reboot: Power down' "$SERIAL" || fail "no 'reboot: Power down' on the serial console"
    log "guest powered off, QEMU exited 0 after $(( $(now) - t0 ))s"
}

if [ -n "$SUITE" ]; then
    qemu-img create -q -f qcow2 -b "$IMG" -F qcow2 "$T/disk.qcow2" "${GROW_MB}M"
else
    qemu-img create -q -f qcow2 -b "$IMG" -F qcow2 "$T/disk.qcow2"
fi
boot_guest nocloud "" \
    -drive "file=$T/disk.qcow2,if=virtio,format=qcow2,discard=unmap" \
    -drive "file=$T/seed.img,if=virtio,format=raw,readonly=on"
wait_ssh "first boot"
grep -q 'Linux version' "$SERIAL" || fail "no kernel messages on the serial console"
cloud_init_done

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
        if [ -z "$b" ] || [ "$b" != "$boot1" ]; then break; fi
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

# --- suite: the Ec2 datasource against imds-stub.py ---------------------------
# No seed; QEMU's user network is 169.254.0.0/16 (the guest gets 169.254.0.15
# by DHCP) and each connection to 169.254.169.254:80 runs imds-stub.py.
ec2_boot() {
    local mac ip=169.254.0.15 iid host marker detail rootdev
    mac=02:ec:2d:$(od -An -N3 -tx1 /dev/urandom | tr -d '\n' | sed 's/ /:/g' | cut -c2-)
    iid=i-0$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-16)
    host="ip-169-254-0-15.ec2.internal"
    marker="HOSTD-DEBIAN: ec2 runcmd $NONCE"
    cp "$HERE/imds-stub.py" "$T/imds-stub.py"
    : >"$T/imds.log"
    MAC=$mac IP=$ip IID=$iid HOST=$host MARKER=$marker PUBKEY=$(cat "$T/key.pub") \
    python3 - "$T/imds.json" <<'EOF'
import json, os, sys
e = os.environ
az, region, account = "us-east-1a", "us-east-1", "111111111111"
nic = {"device-number": "0", "interface-id": "eni-0123456789abcdef0",
       "local-hostname": e["HOST"], "local-ipv4s": e["IP"], "mac": e["MAC"],
       "owner-id": account, "subnet-id": "subnet-0123456789abcdef0",
       "subnet-ipv4-cidr-block": "169.254.0.0/16", "vpc-id": "vpc-0123456789abcdef0",
       "vpc-ipv4-cidr-block": "169.254.0.0/16"}
doc = {"accountId": account, "architecture": "x86_64", "availabilityZone": az,
       "imageId": "ami-0123456789abcdef0", "instanceId": e["IID"],
       "instanceType": "t3.micro", "privateIp": e["IP"], "region": region,
       "version": "2017-09-30"}
tree = {
    "token": os.urandom(16).hex(),
    "meta-data": {
        "ami-id": "ami-0123456789abcdef0", "ami-launch-index": "0",
        "hostname": e["HOST"], "local-hostname": e["HOST"], "local-ipv4": e["IP"],
        "instance-id": e["IID"], "instance-type": "t3.micro", "mac": e["MAC"],
        "placement": {"availability-zone": az, "region": region},
        "public-keys": {"0=hostd-suite": {"openssh-key": e["PUBKEY"] + "\n"}},
        "network": {"interfaces": {"macs": {e["MAC"]: nic}}},
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    },
    "dynamic": {"instance-identity": {"document": json.dumps(doc, indent=2)}},
    "user-data": "#cloud-config\nruncmd:\n  - [ sh, -c, 'echo \"%s\" >/dev/ttyS0' ]\n" % e["MARKER"],
}
with open(sys.argv[1], "w") as f:
    json.dump(tree, f)
EOF
    qemu-img create -q -f qcow2 -b "$IMG" -F qcow2 "$T/ec2.qcow2"
    # The root disk is on virtio-scsi this time (sda, not vda): GRUB, the
    # initramfs and fstab find it by label.
    boot_guest ec2 \
        ",net=169.254.0.0/16,ipv6=off,mac=$mac,guestfwd=tcp:169.254.169.254:80-cmd:python3 $T/imds-stub.py $T/imds.json $T/imds.log" \
        -device virtio-scsi-pci,id=scsi0 \
        -drive "file=$T/ec2.qcow2,if=none,id=root,format=qcow2,discard=unmap" \
        -device scsi-hd,drive=root,bus=scsi0.0
    wait_ssh "Ec2 datasource, key from IMDS public-keys"
    cloud_init_done
    detail=$(guest cloud-init status --long | grep -A1 '^detail:' | tail -n 1)
    echo "$detail" | grep -q DataSourceEc2 || fail "datasource is '$detail', expected Ec2"
    [ "$(guest cat /var/lib/cloud/data/instance-id)" = "$iid" ] || fail "instance-id is not $iid"
    [ "$(guest hostname)" = "${host%%.*}" ] || fail "hostname is not ${host%%.*}"
    [ "$(guest cloud-id)" = aws ] || fail "cloud-id is not aws"
    rootdev=$(guest findmnt -no SOURCE /)
    [ "$rootdev" = /dev/sda1 ] || fail "root is on '$rootdev', expected /dev/sda1 (virtio-scsi)"
    grep -qa "$marker" "$SERIAL" || fail "user-data runcmd marker from IMDS not on the serial console"
    grep -q '^PUT /latest/api/token 200$' "$T/imds.log" || fail "no IMDSv2 token request in the stub's log"
    log "Ec2: $detail, instance-id $iid, hostname ${host%%.*}, cloud-id aws, runcmd ran, root $rootdev;" \
        "$(wc -l <"$T/imds.log") IMDS requests, $(grep -c ' 401$' "$T/imds.log" || true) without a token"
    power_off
}

power_off
[ -z "$SUITE" ] || ec2_boot
log "PASS in $(elapsed)"
