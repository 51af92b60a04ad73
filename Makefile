# hostd: the only build entry point.
#   make deps    install the Debian packages the build and tests need (idempotent)
#   make         build build/bin/hostd, build/bin/hostd-imds and build/bin/hostd-imds-pipe
#   make run     deps + build + the tiny AMI + start hostd on 127.0.0.1:8788 with state
#                in ./var, the tiny AMI imported (its id printed)
#   make test    deps + build + every test suite (unit, ASan/UBSan, fuzz, integration,
#                tiny and Debian AMI smoke tests, the Debian AMI through hostd)

CC       ?= cc
BUILD    := build
PKGS     := libmicrohttpd openssl sqlite3 libvirt libcbor libseccomp
CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
               -Wno-unused-parameter -fno-strict-aliasing -D_GNU_SOURCE -I.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS      = $(PKG_LIBS) -ljpeg -lpng -lpthread -lm

# Every module except the programs' main files goes into one static library
# that the programs, the unit tests and the fuzzers all link.
MAINS    := hostd/main.c metadata/pipe_main.c metadata/imdsd_main.c
SRCS     := $(filter-out $(MAINS),$(wildcard lib/*.c hostd/*.c vmm/*.c images/*.c metadata/*.c net/*.c storage/*.c))
OBJS     := $(SRCS:%.c=$(BUILD)/obj/%.o)
SAN_OBJS := $(SRCS:%.c=$(BUILD)/san/%.o)
HDRS     := $(wildcard lib/*.h hostd/*.h vmm/*.h images/*.h metadata/*.h net/*.h storage/*.h)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
SAN_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests-san/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 30

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

.PHONY: all deps run test lint unit unit-san fuzz integration integration-guests bench bench-api bench-launch bench-sg bench-storage bench-imds clean
all: $(BUILD)/bin/hostd $(BUILD)/bin/hostd-imds $(BUILD)/bin/hostd-imds-pipe

deps:
	@bash scripts/deps.sh

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN_FLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libhostd.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libhostd-san.a: $(SAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/hostd: $(BUILD)/obj/hostd/main.o $(BUILD)/libhostd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The daemon itself under ASan/UBSan: the integration suite runs against it,
# so every bad request the tests send is also a memory-safety check.
$(BUILD)/bin/hostd-san: $(BUILD)/san/hostd/main.o $(BUILD)/libhostd-san.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

# The firewall applier for tests/integration/test_firewall_ns.py: a JSON
# model in, fw_apply (or --render) out.
$(BUILD)/bin/fw-apply: tests/tools/fw_apply.c $(BUILD)/libhostd.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libhostd.a $(LIBS)

# The IMDS for one guest connection (QEMU guestfwd=...-cmd:), plainly and
# under ASan/UBSan for the tests.
$(BUILD)/bin/hostd-imds-pipe: $(BUILD)/obj/metadata/pipe_main.o $(BUILD)/libhostd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The metadata service of the VPCs (metadata/imdsd.h), started by hostd.
# Only a plain build: ASan's runtime needs calls its seccomp filter forbids.
$(BUILD)/bin/hostd-imds: $(BUILD)/obj/metadata/imdsd_main.o $(BUILD)/libhostd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bin/hostd-imds-pipe-san: $(BUILD)/san/metadata/pipe_main.o $(BUILD)/libhostd-san.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libhostd.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libhostd.a $(LIBS) -lcmocka

$(BUILD)/tests-san/%: tests/unit/%.c $(BUILD)/libhostd-san.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -O1 $(SAN_FLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libhostd-san.a $(LIBS) -lcmocka

# libFuzzer needs clang; the fuzzed modules are rebuilt with coverage.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_BASE) -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
	  -o $@ $< $(SRCS) $(LIBS)

unit: $(UNIT_BINS)
	@bash tests/run-unit.sh $(BUILD)/tests $(UNIT_BINS)

unit-san: $(SAN_BINS)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  bash tests/run-unit.sh $(BUILD)/tests-san $(SAN_BINS)

fuzz: $(FUZZ_BINS)
	@bash tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# Debian's python3 (not a pyenv one first on PATH): its pytest and boto3
# come from `make deps`.
integration: $(BUILD)/bin/hostd-san $(BUILD)/bin/hostd-imds $(BUILD)/bin/hostd-imds-pipe $(BUILD)/bin/hostd-imds-pipe-san $(BUILD)/bin/fw-apply tiny-ami
	cd tests/integration && HOSTD_BIN=$(CURDIR)/$(BUILD)/bin/hostd-san \
	  FW_APPLY_BIN=$(CURDIR)/$(BUILD)/bin/fw-apply \
	  IMDS_PIPE_BIN=$(CURDIR)/$(BUILD)/bin/hostd-imds-pipe-san \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	  -m "not guests_full" .

# Real-guest suites too slow for every run (tests marked guests_full).
integration-guests: $(BUILD)/bin/hostd-san $(BUILD)/bin/hostd-imds $(BUILD)/bin/hostd-imds-pipe tiny-ami
	cd tests/integration && HOSTD_BIN=$(CURDIR)/$(BUILD)/bin/hostd-san \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	  -m guests_full .

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr -I. --std=c11 -D_GNU_SOURCE hostd lib metadata images vmm net storage tests/tools

test: deps
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) fuzz
	$(MAKE) integration
	$(MAKE) tiny-smoke
	$(MAKE) debian-smoke
	$(MAKE) debian-hostd

run: deps
	$(MAKE) all
	$(MAKE) tiny-ami
	bash scripts/run.sh

bench: bench-api bench-launch bench-sg bench-storage bench-imds
bench-api: deps
	$(MAKE) all
	bash bench/api/run.sh

bench-launch: deps all tiny-ami
	bash bench/launch/run.sh

bench-sg: deps $(BUILD)/bin/fw-apply
	bash bench/sg/run.sh

bench-storage: deps all
	bash bench/storage/run.sh

bench-imds: deps all tiny-ami
	bash bench/imds/run.sh

clean:
	rm -rf $(BUILD)

include images/tiny.mk
include images/debian.mk
