# tcpabort-trace -- see README.md.  `make V=1` shows full command lines.
#
# Targets: all (default), check, unit, integration, demo, install, uninstall,
#          clean, deps, vmlinux, format, check-kernels, bench.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BUILD := build
OBJ := $(BUILD)/obj

WERROR ?= -Werror
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) -MMD -MP
override CPPFLAGS += -Iinclude -Isrc -I$(BUILD)
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
JANSSON_LIBS := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ivmlinux/$(ARCH) -Iinclude -Ibpf -MMD -MP

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all check unit integration demo install uninstall clean deps vmlinux format check-kernels \
	bench

# The pure core and the output layer: shared by the tracer, report and the unit tests.
CORE_SRCS := src/core/conn.c src/core/facts.c src/core/names.c src/core/rules.c src/json.c src/output.c \
	src/session.c src/util.c src/reader.c
TRACE_SRCS := src/main.c src/trace.c src/kfeatures.c src/report.c src/selftest.c src/scope.c
REPRO_SRCS := $(wildcard src/repro/*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

CORE_OBJS := $(CORE_SRCS:%.c=$(OBJ)/%.o)
TRACE_OBJS := $(TRACE_SRCS:%.c=$(OBJ)/%.o)
REPRO_OBJS := $(REPRO_SRCS:%.c=$(OBJ)/%.o)

all: $(BUILD)/tcpabort-trace $(BUILD)/tcpabort-repro

$(BUILD)/tcpabort.bpf.o: bpf/tcpabort.bpf.c
	$(call msg,BPF,$<)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/tcpabort.skel.h: $(BUILD)/tcpabort.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcpabort_bpf > $@

# The loader includes the skeleton.
$(OBJ)/src/trace.o: $(BUILD)/tcpabort.skel.h

$(OBJ)/%.o: %.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tcpabort-trace: $(TRACE_OBJS) $(CORE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBBPF_LIBS) $(JANSSON_LIBS) -o $@

$(BUILD)/tcpabort-repro: $(REPRO_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(CORE_OBJS)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ $(JANSSON_LIBS) $(CMOCKA_LIBS) -o $@

$(OBJ)/tests/unit/%.o: CPPFLAGS += -DFIXTURES='"tests/fixtures"'

# `make check` is the README's test command and what CI runs.
check: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins $(BUILD)/churn
	$(Q)tests/run-unit.sh $(UNIT_TESTS)
	$(Q)tests/integration/run.sh

unit-bins: $(UNIT_TESTS)

.PHONY: unit-bins

unit: $(UNIT_TESTS)
	$(Q)tests/run-unit.sh $(UNIT_TESTS)

integration: all
	$(Q)tests/integration/run.sh

# Boots Debian's kernel packages under qemu and runs this build inside each
# (tests/kernels/run.sh, docs/kernels.md).  KERNELS="bullseye bookworm" picks some.
KERNELS ?=
check-kernels: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/kernels/run.sh $(KERNELS)

# Tracing's cost under loopback connection churn (root, about 3 minutes; not
# part of `make check`): tests/bench/run.py, docs/bench.md.  BENCH_ROUNDS,
# BENCH_SECONDS, BENCH_RESET_PCT, BENCH_JSON=FILE.
BENCH_BINS := $(BUILD)/churn $(BUILD)/bench-empty $(BUILD)/bench/empty.bpf.o

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) tests/bench/run.py

$(BUILD)/bench/empty.bpf.o: tests/bench/empty.bpf.c
	$(call msg,BPF,$<)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/churn: $(OBJ)/tests/bench/churn.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -lpthread -lm -o $@

$(BUILD)/bench-empty: $(OBJ)/tests/bench/empty.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBBPF_LIBS) -o $@

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# Installs missing build and test packages (apt-get only when something is missing).
deps:
	$(Q)scripts/install-deps.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/tcpabort-trace $(BUILD)/tcpabort-repro $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/tcpabort-trace.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/tcpabort-repro.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tcpabort-trace $(DESTDIR)$(BINDIR)/tcpabort-repro \
		$(DESTDIR)$(MANDIR)/man8/tcpabort-trace.8 $(DESTDIR)$(MANDIR)/man1/tcpabort-repro.1

# Regenerate after a kernel upgrade only if the BPF code needs types or fields
# the committed header lacks: CO-RE relocates field offsets at load time.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

format:
	clang-format -i $(filter-out src/repro/%,$(CORE_SRCS) $(TRACE_SRCS)) bpf/*.c bpf/*.h \
		include/*.h src/*.h src/core/*.h tests/unit/*.c

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
