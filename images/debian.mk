# Debian 12 cloud AMI (images/debian/README.md), included from the Makefile.
#   make debian-ami     build build/ami/debian-12.qcow2 with debootstrap
#                       (cached; only rebuilt when a file in images/debian/
#                       other than README.md and the tests changes)
#   make debian-smoke   boot it under QEMU/TCG with a NoCloud seed, log in
#                       over ssh, check cloud-init and power it off
#                       (part of make test)
#   make debian-suite   the smoke test plus hostname, growpart/resizefs,
#                       systemd health and a reboot (nightly)
#   make debian-hostd   launch it through hostd (tests/e2e): cloud-init
#                       takes its datasource, instance-id, user-data,
#                       hostname and ssh key from hostd (part of make test)
DEBIAN_AMI    := $(or $(BUILD),build)/ami/debian-12.qcow2
DEBIAN_INPUTS := $(shell find images/debian -type f ! -name README.md ! -name smoke.sh ! -name imds-stub.py ! -name '*~')

.PHONY: debian-ami debian-smoke debian-suite debian-hostd
debian-ami: $(DEBIAN_AMI)

$(DEBIAN_AMI): $(DEBIAN_INPUTS)
	bash images/debian/build.sh

debian-smoke: debian-ami
	bash images/debian/smoke.sh $(DEBIAN_AMI)

debian-suite: debian-ami
	bash images/debian/smoke.sh --suite $(DEBIAN_AMI)

# hostd-san runs the build/bin/hostd-imds-pipe next to it for metadata.
debian-hostd: debian-ami $(BUILD)/bin/hostd-san $(BUILD)/bin/hostd-imds-pipe
	cd tests/e2e && HOSTD_BIN=$(CURDIR)/$(BUILD)/bin/hostd-san DEBIAN_AMI=$(CURDIR)/$(DEBIAN_AMI) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 /usr/bin/python3 -m pytest -q -s -p no:cacheprovider \
	  test_debian_hostd.py
