# Tiny test AMI (images/tiny/README.md), included from the Makefile.
#   make tiny-ami     build build/ami/tiny.qcow2 (cached; only rebuilt when
#                     a file in images/tiny/ changes)
#   make tiny-smoke   boot it under QEMU/TCG and power it off via ACPI
TINY_AMI    := $(or $(BUILD),build)/ami/tiny.qcow2
TINY_INPUTS := $(shell find images/tiny -type f ! -name README.md ! -name smoke.sh ! -name '*~')

.PHONY: tiny-ami tiny-smoke
tiny-ami: $(TINY_AMI)

$(TINY_AMI): $(TINY_INPUTS)
	bash images/tiny/build.sh

tiny-smoke: tiny-ami
	bash images/tiny/smoke.sh $(TINY_AMI)
