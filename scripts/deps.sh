#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent: asks apt only for what dpkg does not already report installed.
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-dev cppcheck
  libmicrohttpd-dev libssl-dev libsqlite3-dev sqlite3 libcmocka-dev
  python3 python3-pytest python3-boto3 python3-botocore awscli
  openssl openssh-client curl
  # the tiny test AMI (images/tiny) and the guests that boot it
  dosfstools mtools syslinux syslinux-common fdisk e2fsprogs qemu-utils qemu-system-x86
  # instances: libvirt's QEMU driver (embedded in hostd, and libvirtd for the
  # qemu:///system test), virsh for the launch benchmark, JPEG screenshots
  libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients
  libjpeg62-turbo-dev libpng-dev
  # hostd-imds: CBOR messages with hostd, its seccomp allow-list
  libcbor-dev libseccomp-dev
  # the Debian AMI (images/debian): debootstrap, GRUB for BIOS, the smoke test
  debootstrap debian-archive-keyring grub-pc-bin
  wrk
  # bench/imds: the peer the metadata service is compared with (binary only,
  # run with its own temporary config; no system service is used)
  nginx-light
  # net/firewall: iptables-restore and ebtables-restore (the nf_tables
  # ebtables comes with iptables; the `ebtables` package is the legacy one),
  # ipset, sysctl in the VPC namespace; ping for the namespace tests
  iptables ipset iproute2 procps iputils-ping
  # VPC networking: dnsmasq (binary only, no system service) per subnet and VPC
  dnsmasq-base
  # bench/sg: TCP throughput across the subnet bridge
  iperf3
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes installs fail on a fresh machine; refresh once.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
