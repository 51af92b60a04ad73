# Debian 12 cloud AMI (images/debian/README.md), included from the Makefile.
#   make debian-ami     build build/ami/debian-12.qcow2 with debootstrap
#                       (cached; only rebuilt when a file in images/debian/
#                       other than README.md and the tests changes)
#   make debian-smoke   boot it under QEMU/TCG with a NoCloud seed, log in
#                       over ssh, check cloud-init and power it off
#                       (part of make test)
#   make debian-suite   the smoke test plus hostname, growpart/resizefs,
#                       systemd health and a reboot (nightly)
DEBIAN_AMI    := $(or $(BUILD),build)/ami/debian-12.qcow2
DEBIAN_INPUTS := $(shell find images/debian -type f ! -name README.md ! -name smoke.sh ! -name imds-stub.py ! -name '*~')

.PHONY: debian-ami debian-smoke debian-suite
debian-ami: $(DEBIAN_AMI)

$(DEBIAN_AMI): $(DEBIAN_INPUTS)
	bash images/debian/build.sh

debian-smoke: debian-ami
	bash images/debian/smoke.sh $(DEBIAN_AMI)

debian-suite: debian-ami
	bash images/debian/smoke.sh --suite $(DEBIAN_AMI)
