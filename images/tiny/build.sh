#!/bin/bash
# Build build/ami/tiny.qcow2: a bootable (SeaBIOS) MBR disk made only from
# Debian packages, without loop mounts or root-only tricks beyond apt:
#   p1  FAT16 /boot, 32 MiB: SYSLINUX (installed with mtools `syslinux`),
#       Debian's cloud kernel, our initramfs, syslinux.cfg
#   p2  ext4 root (LABEL=hostd-root), filled with `mkfs.ext4 -d`: busybox,
#       busybox init + rcS, the imds helper
# The MBR is syslinux's mbr.bin. See images/tiny/README.md.
#
# Idempotent: does nothing when the output is newer than every input
# (this directory's files). Debian .debs are cached in build/cache/debs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=$TOP/build
CACHE=$BUILD/cache/debs
WORK=$BUILD/tiny
OUT=${OUT:-$BUILD/ami/tiny.qcow2}

BOOT_MB=32            # FAT16 /boot partition
DISK_MB=512           # whole disk (qcow2 stores only what is used)
P1_START=2048
P1_SECTORS=$((BOOT_MB * 2048))
P2_START=$((P1_START + P1_SECTORS))
P2_SECTORS=$((DISK_MB * 2048 - P2_START))
MODULES="virtio_pci virtio_blk virtio_net virtio_scsi button evdev"
KERNEL_PKG=linux-image-cloud-amd64

log() { echo "tiny-ami: $*" >&2; }

inputs() {
    find "$HERE" -type f ! -name README.md ! -name smoke.sh ! -name '*~'
}

if [ -f "$OUT" ] && [ -z "${FORCE:-}" ] && [ -z "$(inputs | while read -r f; do
        [ "$f" -nt "$OUT" ] && echo "$f"; done)" ]; then
    log "$OUT is up to date"
    exit 0
fi

# --- host tools ---------------------------------------------------------------
missing=$(grep -v '^#' "$HERE/deps" | while read -r p; do
    [ -n "$p" ] || continue
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
done)
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        log "missing build packages: $missing (apt-get install them)"
        exit 1
    fi
    log "installing build packages: $missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null; }
fi

# --- Debian packages for the guest (cached) ----------------------------------
mkdir -p "$CACHE"
updated=
fetch() { # fetch PKG -> prints the cached .deb path
    local pkg=$1 f
    f=$(ls "$CACHE/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$f" ]; then
        log "apt-get download $pkg"
        if ! (cd "$CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1); then
            [ -n "$updated" ] || { apt-get update -qq >/dev/null 2>&1 || true; updated=1; }
            (cd "$CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
                { log "cannot download $pkg"; exit 1; }
        fi
        f=$(ls "$CACHE/${pkg}"_*.deb | sort -V | tail -n 1)
    fi
    echo "$f"
}
meta=$(fetch "$KERNEL_PKG")
# The meta package depends on the versioned image, e.g. linux-image-6.1.0-NN-cloud-amd64.
kpkg=$(dpkg-deb -f "$meta" Depends | tr ',|' '\n\n' | awk '{print $1}' |
       grep -m1 '^linux-image-[0-9].*-cloud-amd64$')
kdeb=$(fetch "$kpkg")
bdeb=$(fetch busybox-static)

rm -rf "$WORK"
mkdir -p "$WORK/x/kernel" "$WORK/x/busybox" "$(dirname "$OUT")"
dpkg-deb -x "$kdeb" "$WORK/x/kernel"
dpkg-deb -x "$bdeb" "$WORK/x/busybox"
KVER=$(ls "$WORK/x/kernel/lib/modules")
VMLINUZ=$WORK/x/kernel/boot/vmlinuz-$KVER
BUSYBOX=$WORK/x/busybox/bin/busybox
[ -f "$VMLINUZ" ] && [ -x "$BUSYBOX" ] || { log "unexpected package contents"; exit 1; }
log "kernel $KVER ($(basename "$kdeb")), $(basename "$bdeb")"

# --- imds helper (static) -----------------------------------------------------
gcc -static -Os -s -Wall -Wextra -o "$WORK/imds" "$HERE/imds.c"

# --- initramfs: busybox + the virtio/ACPI modules ----------------------------
IR=$WORK/initramfs
mkdir -p "$IR/bin" "$IR/dev" "$IR/proc" "$IR/sys" "$IR/modules"
cp "$BUSYBOX" "$IR/bin/busybox"
for a in $("$BUSYBOX" --list); do
    [ "$a" = busybox ] || ln -s busybox "$IR/bin/$a"
done
MODDIR=$WORK/x/kernel/lib/modules/$KVER
declare -A seen=()
order=()
add_mod() { # dependency-first (reads the depends= field of .modinfo)
    local m=$1 f d
    [ -z "${seen[$m]:-}" ] || return 0
    seen[$m]=1
    f=$(find "$MODDIR" -name "$m.ko" -print -quit)
    [ -n "$f" ] || { log "module $m not found in $KVER"; exit 1; }
    for d in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
        add_mod "$d"
    done
    cp "$f" "$IR/modules/$m.ko"
    order+=("$m")
}
for m in $MODULES; do add_mod "$m"; done
printf '%s\n' "${order[@]}" >"$IR/modules/order"
cp "$HERE/initramfs-init" "$IR/init"
chmod 0755 "$IR/init"
(cd "$IR" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) |
    gzip -9 -n >"$WORK/initrd.img"

# --- root filesystem (ext4, filled without mounting) -------------------------
RF=$WORK/rootfs
mkdir -p "$RF"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,run,tmp,root,mnt,var/lib/hostd-tiny,var/log}
cp "$BUSYBOX" "$RF/bin/busybox"
for p in $("$BUSYBOX" --list-full); do
    case "$p" in bin/busybox|*/poweroff|*/reboot|*/halt) continue ;; esac
    mkdir -p "$RF/$(dirname "$p")"
    ln -sf /bin/busybox "$RF/$p"
done
cp -a "$HERE/rootfs/." "$RF/"
for k in poweroff reboot halt; do ln -sf hostd-shutdown "$RF/sbin/$k"; done
install -m 0755 "$WORK/imds" "$RF/usr/bin/imds"
ln -sf /proc/mounts "$RF/etc/mtab"
chmod 1777 "$RF/tmp"
chmod 0700 "$RF/root"
chown -R 0:0 "$RF" 2>/dev/null || true

truncate -s $((P2_SECTORS * 512)) "$WORK/root.img"
mkfs.ext4 -q -F -b 4096 -T default -L hostd-root -E root_owner=0:0 -d "$RF" "$WORK/root.img"

# --- /boot: FAT16 + SYSLINUX (installed on the unmounted image via mtools) --
mkfs.fat -F 16 -n HOSTD-BOOT -h $P1_START -C "$WORK/boot.img" $((BOOT_MB * 1024)) >/dev/null
syslinux --install "$WORK/boot.img"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$WORK/boot.img" "$VMLINUZ" ::/vmlinuz
mcopy -i "$WORK/boot.img" "$WORK/initrd.img" ::/initrd.img
mcopy -i "$WORK/boot.img" "$HERE/syslinux.cfg" ::/syslinux.cfg

# --- disk: MBR + partitions -----------------------------------------------------
RAW=$WORK/disk.raw
truncate -s "${DISK_MB}M" "$RAW"
sfdisk -q "$RAW" <<EOF
label: dos
label-id: 0x7419e5c0
start=$P1_START, size=$P1_SECTORS, type=6, bootable
start=$P2_START, size=$P2_SECTORS, type=83
EOF
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$RAW" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/boot.img" of="$RAW" bs=512 seek=$P1_START conv=notrunc,sparse status=none
dd if="$WORK/root.img" of="$RAW" bs=512 seek=$P2_START conv=notrunc,sparse status=none

qemu-img convert -f raw -O qcow2 "$RAW" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
rm -f "$RAW" "$WORK/root.img" "$WORK/boot.img"
log "built $OUT ($(du -h "$OUT" | cut -f1) on disk, ${DISK_MB} MiB virtual)"
