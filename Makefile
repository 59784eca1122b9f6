# Makefile - kbuild-style build of tern.
#
#   make [<name>_defconfig|defconfig]   write $(O)/.config (default O=build)
#   make                                build $(O)/tern from $(KCONFIG_CONFIG)
#   make check | run | size | install | clean | help
#
# Each directory lists its objects in a Kbuild file, `obj-$(CONFIG_X) += x.o`.
# Building from a complete .config needs only make, a C compiler and POSIX
# shell tools: scripts/kconfig-header.sh turns .config into the C header.
# Only the config targets (defconfig, menuconfig, ...) run kconfiglib.

VERSION := $(shell cat VERSION)

srctree := $(CURDIR)
O ?= build
override O := $(patsubst %/,%,$(O))
KCONFIG_CONFIG ?= $(O)/.config
export KCONFIG_CONFIG

# A cross build's toolchain, library flags and qemu RUNNER, as written by
# ports/debian/cross-deps.sh (see cross-check below); read before the
# defaults so that it sets them, and the command line still wins.
ifneq ($(CROSS_MK),)
include $(CROSS_MK)
endif

# Toolchain: CC and AR default to $(CROSS_COMPILE)gcc/ar only when they are
# make's built-in defaults; anything the user set wins.
ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif
STRIP ?= $(CROSS_COMPILE)strip
SIZE ?= $(CROSS_COMPILE)size
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
INSTALL ?= install
RUNNER ?=

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/tern
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
else
SYSCONFDIR ?= $(PREFIX)/etc
endif
LOCALSTATEDIR ?= /var
RUNSTATEDIR ?= /run
# the system's CA bundle (tls_verify_certificates = system)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt

# User flags are kept as given and come after ours, so they can override.
CFLAGS ?= -O2 -g
WERROR ?= 1
TERN_CFLAGS := -std=c11 -pedantic -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla
ifeq ($(WERROR),1)
TERN_CFLAGS += -Werror
endif
# _FILE_OFFSET_BITS=64: on 32-bit targets (mipsel, armhf) readdir() fails
# with EOVERFLOW on a file system with 64-bit inodes or directory offsets,
# and files over 2 GiB need it. (Not _TIME_BITS=64: Debian 12's libraries,
# mbedTLS's ssl session among them, have a 32-bit time_t there.)
TERN_CPPFLAGS := -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700 -D_FILE_OFFSET_BITS=64 \
	-DTERN_VERSION='"$(VERSION)"' \
	-DTERN_SYSCONFDIR='"$(SYSCONFDIR)"' \
	-DTERN_LOCALSTATEDIR='"$(LOCALSTATEDIR)"' \
	-DTERN_RUNSTATEDIR='"$(RUNSTATEDIR)"' \
	-DTERN_CA_BUNDLE='"$(CA_BUNDLE)"' \
	-I$(O)/include -I$(srctree)

ifneq ($(V),1)
Q := @
quiet = @printf '  %-8s %s\n' '$(1)' '$(2)';
else
Q :=
quiet =
endif

config_targets := %config menuconfig oldconfig olddefconfig savedefconfig \
	allnoconfig allyesconfig randconfig help clean distclean deps \
	cross-deps cross-build cross-check cross-size
goals := $(if $(MAKECMDGOALS),$(MAKECMDGOALS),all)
ifneq ($(filter-out $(config_targets),$(goals)),)
need_config := 1
endif

-include $(KCONFIG_CONFIG)

# Libraries: pkg-config where the library ships a .pc file, plain -l else.
static := $(if $(filter y,$(CONFIG_STATIC)),--static)
LIBUV_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libuv 2>/dev/null)
# Debian names libuv's static library libuv_a (libuv-static.pc).
LIBUV_LIBS ?= $(or $(shell $(PKG_CONFIG) $(static) --libs $(if $(static),libuv-static,libuv) 2>/dev/null),-luv)
LDNS_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags ldns 2>/dev/null)
# ldns.pc does not list OpenSSL (ldns uses its RAND_*) for static links;
# libcrypto.pc adds what it needs itself (-latomic on 32-bit MIPS).
LDNS_LIBS ?= $(or $(shell $(PKG_CONFIG) $(static) --libs ldns 2>/dev/null),-lldns) \
	$(if $(static),$(or $(shell $(PKG_CONFIG) --static --libs libcrypto 2>/dev/null),-lcrypto))
MBEDTLS_CFLAGS ?=
MBEDTLS_LIBS ?= -lmbedtls -lmbedx509 -lmbedcrypto
CMOCKA_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS ?= $(or $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null),-lcmocka)

dep-cflags-y := $(LIBUV_CFLAGS)
dep-cflags-$(CONFIG_DNS) += $(LDNS_CFLAGS)
dep-cflags-$(CONFIG_TLS) += $(MBEDTLS_CFLAGS)
dep-libs-y :=
dep-libs-$(CONFIG_DNS) += $(LDNS_LIBS)
dep-libs-$(CONFIG_TLS) += $(MBEDTLS_LIBS)
dep-libs-y += $(LIBUV_LIBS)
static-ldflags-$(CONFIG_STATIC) := -static

ALL_CPPFLAGS = $(TERN_CPPFLAGS) $(dep-cflags-y) $(CPPFLAGS)
ALL_CFLAGS = $(TERN_CFLAGS) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(static-ldflags-y) $(LDFLAGS) $(EXTRA_LDFLAGS)

# Objects: each directory's Kbuild appends to obj-y.
subdirs := core dns tls events ports
tern-objs :=
define collect
obj-y :=
include $(srctree)/$(1)/Kbuild
tern-objs += $$(addprefix $(O)/$(1)/,$$(obj-y))
endef
$(foreach d,$(subdirs),$(eval $(call collect,$(d))))
main-obj := $(O)/core/main.o
lib-objs := $(filter-out $(main-obj),$(tern-objs))

autoconf := $(O)/include/generated/autoconf.h
flags-file := $(O)/.build-flags

.PHONY: all
all: $(O)/tern

ifeq ($(need_config),1)
ifeq ($(wildcard $(KCONFIG_CONFIG)),)
$(KCONFIG_CONFIG):
	@echo "tern: no $(KCONFIG_CONFIG); writing the default (router) config" >&2
	$(Q)$(MAKE) --no-print-directory defconfig
endif
endif

$(autoconf): $(KCONFIG_CONFIG) scripts/kconfig-header.sh
	@mkdir -p $(dir $@)
	$(call quiet,GEN,$@)sh scripts/kconfig-header.sh $(KCONFIG_CONFIG) > $@.tmp && mv $@.tmp $@

# Rebuild everything when the compiler or its flags change.
flags-now = $(subst ','\'',$(strip $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)))
$(flags-file): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(flags-now)' | cmp -s - $@ || printf '%s\n' '$(flags-now)' > $@

$(O)/%.o: $(srctree)/%.c $(autoconf) $(flags-file)
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libtern.a: $(lib-objs)
	$(call quiet,AR,$@)rm -f $@ && $(AR) rcs $@ $^

$(O)/tern: $(main-obj) $(O)/libtern.a
	$(call quiet,LD,$@)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(main-obj) \
		$(O)/libtern.a $(dep-libs-y) $(LDLIBS)

-include $(tern-objs:.o=.d)

# ---------------------------------------------------------------- config

# The config targets need kconfiglib; install it (Debian) when missing.
need-kconfiglib = { $(PYTHON) -c 'import kconfiglib' 2>/dev/null || \
	ports/debian/install-deps.sh kconfig || { \
	echo "tern: the config targets need python3-kconfiglib ($(PYTHON))" >&2; exit 1; }; }
kconfig-tool = $(Q)$(need-kconfiglib) && mkdir -p $(dir $(KCONFIG_CONFIG)) && \
	srctree=$(srctree) $(PYTHON) -m

.PHONY: defconfig menuconfig oldconfig olddefconfig \
	savedefconfig allnoconfig allyesconfig randconfig

%_defconfig: configs/%_defconfig FORCE
	$(kconfig-tool) defconfig --kconfig Kconfig $<
defconfig: router_defconfig
menuconfig oldconfig olddefconfig allnoconfig allyesconfig:
	$(kconfig-tool) $@ Kconfig
savedefconfig:
	$(kconfig-tool) savedefconfig --kconfig Kconfig --out $(O)/defconfig
randconfig:
	$(Q)$(need-kconfiglib) && mkdir -p $(dir $(KCONFIG_CONFIG)) && \
		srctree=$(srctree) $(PYTHON) scripts/randconfig.py $(SEED)

# ---------------------------------------------------------------- tests

include $(srctree)/tests/Kbuild
include $(srctree)/tests/fuzz/Kbuild

# ---------------------------------------------------------------- install

.PHONY: install
install: $(O)/tern
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(O)/tern $(DESTDIR)$(SBINDIR)/tern
	ln -sf tern $(DESTDIR)$(SBINDIR)/sendmail
	ln -sf tern $(DESTDIR)$(SBINDIR)/mailq
	$(INSTALL) -m 0644 docs/tern.8 $(DESTDIR)$(MANDIR)/man8/tern.8
	$(INSTALL) -m 0644 docs/tern.conf.5 $(DESTDIR)$(MANDIR)/man5/tern.conf.5
	$(INSTALL) -m 0644 docs/tern.conf.example $(DESTDIR)$(DOCDIR)/tern.conf.example
	test -e $(DESTDIR)$(SYSCONFDIR)/tern.conf || \
		$(INSTALL) -m 0644 docs/tern.conf.example $(DESTDIR)$(SYSCONFDIR)/tern.conf

# ---------------------------------------------------------------- run, size

RUN_DIR := $(O)/run
.PHONY: run run-now deps
deps:
	@ports/debian/install-deps.sh build
run:
	@ports/debian/install-deps.sh build
	$(Q)$(MAKE) --no-print-directory run-now
run-now: $(O)/tern
	@mkdir -p $(RUN_DIR)/spool
	@sed -e 's|@RUN_DIR@|$(abspath $(RUN_DIR))|g' docs/tern.conf.run > $(RUN_DIR)/tern.conf
	@echo "tern: serving on 127.0.0.1:2525 with $(RUN_DIR)/tern.conf (Ctrl-C stops)" >&2
	$(RUNNER) $(O)/tern -C $(RUN_DIR)/tern.conf serve

.PHONY: size
size: $(O)/tern
	@sh scripts/size.sh $(O)/tern "$(SIZE)" "$(STRIP)" $(O)/size.baseline

.PHONY: size-baseline
size-baseline: $(O)/tern
	@sh scripts/size.sh $(O)/tern "$(SIZE)" "$(STRIP)" > $(O)/size.baseline
	@echo "saved $(O)/size.baseline" >&2

# ---------------------------------------------------------------- cross

# make cross-check ARCH=mipsel|armhf|arm64 [CROSS_DEFCONFIG=router]
# installs the cross compiler, qemu-user and the target's libraries
# (ports/debian/cross-deps.sh), builds tern and the unit tests for ARCH in
# $(O)/cross-ARCH and runs the unit tests under qemu-user.
CROSS_DEFCONFIG ?= router
cross-o = $(O)/cross-$(ARCH)
cross-make = $(MAKE) --no-print-directory O=$(cross-o) \
	KCONFIG_CONFIG=$(cross-o)/.config CROSS_MK=$(abspath $(cross-o))/cross.mk
.PHONY: cross-deps cross-build cross-check cross-size cross-static
cross-deps:
	@case "$(ARCH)" in mipsel|armhf|arm64|s390x) ;; *) \
		echo "usage: make cross-check ARCH=mipsel|armhf|arm64" >&2; exit 2 ;; esac
	@ports/debian/cross-deps.sh $(ARCH) $(cross-o)
cross-build: cross-deps
	+$(Q)$(cross-make) $(CROSS_DEFCONFIG)_defconfig >/dev/null
	+$(Q)$(cross-make) tests
cross-check: cross-build
	+$(Q)$(cross-make) unit-check
	+$(Q)$(cross-make) cross-smoke
	+$(Q)$(cross-make) size
	@echo "cross-check: $(ARCH) ($(CROSS_DEFCONFIG)) passed"
# make cross-size ARCH=...: text/data/bss and stripped size of tern for
# each defconfig (CROSS_SIZE_CONFIGS) on ARCH, in $(O)/cross-ARCH/NAME
CROSS_SIZE_CONFIGS ?= tiny router full
cross-size: cross-deps
	+$(Q)for c in $(CROSS_SIZE_CONFIGS); do \
		$(MAKE) --no-print-directory -s O=$(cross-o)/$$c KCONFIG_CONFIG=$(cross-o)/$$c/.config \
			CROSS_MK=$(abspath $(cross-o))/cross.mk $${c}_defconfig >/dev/null && \
		$(MAKE) --no-print-directory -s O=$(cross-o)/$$c KCONFIG_CONFIG=$(cross-o)/$$c/.config \
			CROSS_MK=$(abspath $(cross-o))/cross.mk all >/dev/null && \
		printf '%s %s ' $(ARCH) $$c && \
		$(MAKE) --no-print-directory -s O=$(cross-o)/$$c KCONFIG_CONFIG=$(cross-o)/$$c/.config \
			CROSS_MK=$(abspath $(cross-o))/cross.mk size || exit 1; \
	done
# make cross-static ARCH=...: CROSS_DEFCONFIG plus CONFIG_STATIC in
# $(O)/cross-ARCH/static; it must start under a bare qemu (no -L: it has
# no loader to find) and read a configuration
cross-static-o = $(cross-o)/static
cross-static: cross-deps
	+$(Q)$(MAKE) --no-print-directory O=$(cross-static-o) KCONFIG_CONFIG=$(cross-static-o)/.config \
		CROSS_MK=$(abspath $(cross-o))/cross.mk $(CROSS_DEFCONFIG)_defconfig >/dev/null
	$(Q)echo CONFIG_STATIC=y >> $(cross-static-o)/.config
	+$(Q)$(MAKE) --no-print-directory O=$(cross-static-o) KCONFIG_CONFIG=$(cross-static-o)/.config \
		CROSS_MK=$(abspath $(cross-o))/cross.mk olddefconfig >/dev/null
	+$(Q)$(MAKE) --no-print-directory O=$(cross-static-o) KCONFIG_CONFIG=$(cross-static-o)/.config \
		CROSS_MK=$(abspath $(cross-o))/cross.mk all 2>&1 | \
		grep -v -e "statically linked applications requires" -e ": in function" || true
	+$(Q)$(MAKE) --no-print-directory O=$(cross-static-o) KCONFIG_CONFIG=$(cross-static-o)/.config \
		CROSS_MK=$(abspath $(cross-o))/cross.mk RUNNER='$$(QEMU)' cross-smoke size
	@echo "cross-static: $(ARCH) ($(CROSS_DEFCONFIG) + CONFIG_STATIC) passed"
# the binary itself starts under qemu and reads a configuration
.PHONY: cross-smoke
cross-smoke: $(O)/tern
	$(RUNNER) $(O)/tern version
	@sed -e 's|@RUN_DIR@|$(abspath $(O))/run|g' docs/tern.conf.run > $(O)/smoke.conf
	$(RUNNER) $(O)/tern -C $(O)/smoke.conf config check

# ---------------------------------------------------------------- misc

# make dist: the release tarball the ports/ recipes fetch
# (tern-VERSION.tar.gz of the committed tree, top directory tern-VERSION/)
.PHONY: dist
dist:
	@mkdir -p $(O)
	git archive --format=tar.gz --prefix=tern-$(VERSION)/ -o $(O)/tern-$(VERSION).tar.gz HEAD
	@echo "$(O)/tern-$(VERSION).tar.gz: sha256 $$(sha256sum < $(O)/tern-$(VERSION).tar.gz | cut -d' ' -f1)"

.PHONY: clean distclean help FORCE
FORCE:
clean:
	rm -rf $(O)/core $(O)/dns $(O)/tls $(O)/events $(O)/ports $(O)/tests \
		$(O)/include $(O)/tern $(O)/libtern.a $(O)/asan $(O)/oom $(flags-file)
distclean:
	rm -rf $(O)

help:
	@echo 'Config:  <name>_defconfig (tiny router full), defconfig (= router),'
	@echo '         menuconfig oldconfig olddefconfig savedefconfig allnoconfig'
	@echo '         allyesconfig randconfig            (need python3-kconfiglib)'
	@echo 'Build:   all (default), install, size, size-baseline, clean, distclean'
	@echo 'Test:    check (unit, integration, unit again under ASan+UBSan),'
	@echo '         unit-check, integration-check, sanitize-check, valgrind-check, configs-check,'
	@echo '         crash-check (SIGKILL tern serve under load, CRASH_KILLS=50),'
	@echo '         oom-check (tern serve with its Nth allocation failing, every N;'
	@echo '         OOM_STICKY=1 OOM_TLS=1 OOM_MAX=)'
	@echo 'Cross:   cross-check ARCH=mipsel|armhf|arm64 (deps, build, unit tests'
	@echo '         under qemu-user, size; in $(O)/cross-ARCH) CROSS_DEFCONFIG=,'
	@echo '         cross-size ARCH=... (size of tiny, router, full on ARCH),'
	@echo '         cross-static ARCH=... (router + CONFIG_STATIC under a bare qemu)'
	@echo 'Release: dist (tern-VERSION.tar.gz of HEAD, for the ports/ recipes)'
	@echo 'Run:     run (tern serve on 127.0.0.1:2525, spool under $(O)/run)'
	@echo 'Vars:    O= KCONFIG_CONFIG= CROSS_COMPILE= CC= CFLAGS= CPPFLAGS= LDFLAGS='
	@echo '         LDLIBS= EXTRA_CFLAGS= PKG_CONFIG= PYTHON= V=1 WERROR=0 RUNNER='
	@echo '         DESTDIR= PREFIX= SYSCONFDIR= MBEDTLS_LIBS= LIBUV_LIBS= LDNS_LIBS='
.SECONDARY:
# benchmarks beside Postfix, Exim, OpenSMTPD (root, network, minutes; not in check)
bench: FORCE ; sh bench/run.sh
