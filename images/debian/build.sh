#!/bin/bash
# Build build/ami/debian-12.qcow2: Debian 12 (bookworm) with cloud-init and
# openssh-server, bootable through SeaBIOS from its own disk:
#   MBR   GRUB's boot.img; GRUB's core.img embedded in sectors 1..2047
#   p1    ext4 root (LABEL=debian-root), the whole rest of the disk, filled
#         from the debootstrap tree with `mkfs.ext4 -d` (no loop devices,
#         no mounts of the image)
# GRUB boots /vmlinuz and /initrd.img (the symlinks the kernel package keeps
# up to date) with root=LABEL=debian-root console=tty0 console=ttyS0,115200.
# See images/debian/README.md.
#
# Idempotent: does nothing when the output is newer than every input (this
# directory's files but README.md and the tests; FORCE=1 rebuilds). The .debs
# are downloaded once into a debootstrap tarball under build/cache/debian/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=$TOP/build
CACHE=$BUILD/cache/debian
ROOT=$BUILD/debian              # the debootstrap tree (the guest's /)
WORK=$BUILD/debian-work         # partition images, core.img, raw disk
OUT=${OUT:-$BUILD/ami/debian-12.qcow2}

SUITE=bookworm
VARIANT=minbase
LABEL=debian-root
DISK_MB=2048                    # virtual size; qcow2 stores only what is used
P1_START=2048                   # 1 MiB: sectors 1..2047 hold GRUB's core.img
P1_SECTORS=$((DISK_MB * 2048 - P1_START))
GRUB_DIR=/usr/lib/grub/i386-pc
# Built into core.img, so nothing has to be read from /boot/grub/i386-pc.
GRUB_MODULES=(biosdisk part_msdos ext2 search search_label search_fs_uuid
              normal linux configfile echo test serial terminal sleep)

log() { echo "debian-ami: $*" >&2; }
die() { log "error: $*"; exit 1; }

inputs() {
    find "$HERE" -type f ! -name README.md ! -name smoke.sh ! -name imds-stub.py ! -name '*~'
}

if [ -f "$OUT" ] && [ -z "${FORCE:-}" ] && [ -z "$(inputs | while read -r f; do
        [ "$f" -nt "$OUT" ] && echo "$f"; done)" ]; then
    log "$OUT is up to date"
    exit 0
fi
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"

# --- host tools ---------------------------------------------------------------
missing=$(grep -v '^#' "$HERE/deps" | while read -r p; do
    [ -n "$p" ] || continue
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
done)
if [ -n "$missing" ]; then
    log "installing build packages: $missing"
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
fi

# --- mirror: the Debian archive the host's apt sources point at ---------------
# First "deb" source whose suites include plain $SUITE (not -security/-updates).
# MIRROR=... overrides.
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822: paragraphs of Types/URIs/Suites
        awk -v suite="$SUITE" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "")
                    { split(uris, u, " "); print u[1]; found = 1; exit }
                types = uris = suites = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^Types:/  { sub(/^Types:[ \t]*/, "");  types = $0 }
            /^URIs:/   { sub(/^URIs:[ \t]*/, "");   uris = $0 }
            /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
            END { if (!found) flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [options] URI suite components
        awk -v suite="$SUITE" '$1 == "deb" {
                i = 2; if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit } }' "$f"
    done
}
MIRROR=${MIRROR:-$(find_mirror | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}

# --- debootstrap (packages cached in a tarball) --------------------------------
mapfile -t PKGS < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$HERE/packages" | grep -v '^$')
INCLUDE=$(IFS=,; echo "${PKGS[*]}")
KEY=$(printf '%s\n' "$SUITE" "$VARIANT" "$INCLUDE" | sha256sum | cut -c1-12)
TARBALL=$CACHE/$SUITE-$VARIANT-$KEY.tgz
DEBOOTSTRAP=(debootstrap --arch=amd64 --variant="$VARIANT" --include="$INCLUDE"
             --keyring=/usr/share/keyrings/debian-archive-keyring.gpg)

# Refuse to delete or image a tree that still has something mounted in it.
check_unmounted() {
    if [ -d "$1" ] && findmnt -rn -o TARGET | grep -q "^$1\(/\|$\)"; then
        die "something is mounted under $1; unmount it first"
    fi
}

mkdir -p "$CACHE" "$(dirname "$OUT")"
if [ ! -f "$TARBALL" ]; then
    log "downloading $SUITE packages from $MIRROR into $(basename "$TARBALL")"
    dl=$(mktemp -d "$CACHE/dl.XXXXXX")
    trap 'rm -rf "$dl"' EXIT
    "${DEBOOTSTRAP[@]}" --make-tarball="$TARBALL.tmp" "$SUITE" "$dl/root" "$MIRROR" \
        >"$CACHE/make-tarball.log" 2>&1 ||
        { tail -n 30 "$CACHE/make-tarball.log" >&2; die "debootstrap --make-tarball failed"; }
    mv "$TARBALL.tmp" "$TARBALL"
    # Tarballs for other package lists are stale now.
    find "$CACHE" -maxdepth 1 -name "$SUITE-$VARIANT-*.tgz" ! -name "$(basename "$TARBALL")" -delete
    rm -rf "$dl"
    trap - EXIT
fi

check_unmounted "$ROOT"
rm -rf "$ROOT" "$WORK"
mkdir -p "$WORK"
log "debootstrap $SUITE ($VARIANT + ${#PKGS[@]} packages) into ${ROOT#"$TOP"/}"
# In a private mount namespace: whatever debootstrap mounts in the target
# (/proc, /sys) goes away with the namespace, whatever happens to the build.
unshare --mount --propagation private \
    "${DEBOOTSTRAP[@]}" --unpack-tarball="$TARBALL" "$SUITE" "$ROOT" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }

# --- configure the guest -------------------------------------------------------
# rootfs/: configuration files, installed root-owned 0644 whatever the
# checkout's owner and umask (directories that exist keep their modes).
(cd "$HERE/rootfs" && find . -type f) | while read -r f; do
    install -D -o 0 -g 0 -m 0644 "$HERE/rootfs/$f" "$ROOT/$f"
done
sed -i "s/@LABEL@/$LABEL/g" "$ROOT/boot/grub/grub.cfg"
cat >"$ROOT/etc/fstab" <<EOF
# <file system>    <mount point> <type> <options>                  <dump> <pass>
LABEL=$LABEL  /             ext4   rw,discard,errors=remount-ro 0      1
EOF
echo localhost >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# The guest's own apt sources (debootstrap wrote only "$MIRROR bookworm main").
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# Commands in the tree: in their own mount namespace with /proc, /sys and
# /dev mounted there, so the mounts vanish when it exits (no cleanup needed).
in_root() {
    unshare --mount --propagation private sh -euc '
        r=$1; shift
        mount -t proc proc "$r/proc"
        mount -t sysfs sys "$r/sys"
        mount --rbind /dev "$r/dev"
        exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' sh "$ROOT" "$@"
}
KVER=$(basename "$(ls -d "$ROOT"/lib/modules/*-cloud-amd64 | sort -V | tail -n 1)")
log "kernel $KVER; initramfs with $(grep -v '^#' "$ROOT/etc/initramfs-tools/modules" | xargs)"
in_root update-initramfs -u -k "$KVER" >"$WORK/initramfs.log" 2>&1 ||
    { cat "$WORK/initramfs.log" >&2; die "update-initramfs failed"; }
in_root lsinitramfs "/boot/initrd.img-$KVER" >"$WORK/initramfs.list"
for m in virtio_pci virtio_blk virtio_net; do
    grep -q "/$m\.ko" "$WORK/initramfs.list" || die "$m is not in the initramfs"
done
# /vmlinuz and /initrd.img (what grub.cfg boots) must point at this kernel.
ln -sfn "boot/vmlinuz-$KVER" "$ROOT/vmlinuz"
ln -sfn "boot/initrd.img-$KVER" "$ROOT/initrd.img"
rm -f "$ROOT/vmlinuz.old" "$ROOT/initrd.img.old"

# Generated per instance on first boot: host keys (cloud-init), machine-id
# (systemd; an empty file means "first boot"), random seed.
rm -f "$ROOT"/etc/ssh/ssh_host_*
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id" "$ROOT/var/lib/systemd/random-seed"
# What rootfs/etc/dpkg/dpkg.cfg.d/hostd-excludes keeps out from now on.
find "$ROOT/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian/*
# Caches, indexes and logs of the build.
in_root apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin \
       "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old \
       "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/var/lib/cloud/* "$ROOT/root/.bash_history"
find "$ROOT/var/log" -type f -delete
check_unmounted "$ROOT"

# --- root filesystem: ext4 from the tree, without mounting -------------------
# No orphan_file / metadata_csum_seed: bookworm's GRUB 2.06 can't read them.
truncate -s $((P1_SECTORS * 512)) "$WORK/root.img"
mkfs.ext4 -q -F -b 4096 -L "$LABEL" -O ^orphan_file,^metadata_csum_seed \
    -E root_owner=0:0 -d "$ROOT" "$WORK/root.img"
e2fsck -fn "$WORK/root.img" >/dev/null 2>&1 || die "e2fsck found errors in root.img"

# --- GRUB for BIOS, installed by hand (no grub-install, which wants a device) --
# core.img = diskboot + kernel + the modules above + early.cfg, which finds
# the root partition by its label (whatever the disk is called) and sets
# $prefix there, so normal mode reads /boot/grub/grub.cfg from the root
# filesystem; boot.img in the MBR loads core.img from sector 1 (its default
# blocklist: grub-mkimage fills in the length, the start is sector 2).
# early.cfg runs in GRUB's rescue parser: no comments (it has no "#" syntax,
# and a quote in one would swallow the rest), plain commands only.
cat >"$WORK/early.cfg" <<EOF
set root=(hd0,msdos1)
search --no-floppy --label --set=root $LABEL
set prefix=(\$root)/boot/grub
EOF
grub-mkimage -O i386-pc -o "$WORK/core.img" -c "$WORK/early.cfg" \
    -p /boot/grub "${GRUB_MODULES[@]}"
core_sectors=$(( ($(stat -c %s "$WORK/core.img") + 511) / 512 ))
[ "$core_sectors" -lt "$P1_START" ] || die "core.img ($core_sectors sectors) does not fit before p1"

# --- disk: MBR + one partition ---------------------------------------------------
RAW=$WORK/disk.raw
truncate -s "${DISK_MB}M" "$RAW"
sfdisk -q "$RAW" <<EOF
label: dos
label-id: 0x6465626e
start=$P1_START, size=$P1_SECTORS, type=83, bootable
EOF
dd if="$GRUB_DIR/boot.img" of="$RAW" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$RAW" bs=512 seek=1 conv=notrunc status=none
dd if="$WORK/root.img" of="$RAW" bs=512 seek=$P1_START conv=notrunc,sparse status=none

qemu-img convert -f raw -O qcow2 "$RAW" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
rm -f "$RAW" "$WORK/root.img"
log "built $OUT ($(du -h "$OUT" | cut -f1) on disk, ${DISK_MB} MiB virtual; root uses $(du -sh "$ROOT" | cut -f1))"
