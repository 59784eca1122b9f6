################################################################################
#
# tern
#
################################################################################

TERN_VERSION = 0.1.0
# tern-$(TERN_VERSION).tar.gz is `make dist` of a release tag; site and
# license are filled in when the project publishes one (no release yet)
TERN_SITE = https://example.org/tern/releases
# or, from a checkout: TERN_OVERRIDE_SRCDIR = /path/to/tern in local.mk
TERN_LICENSE =
TERN_LICENSE_FILES =
TERN_DEPENDENCIES = host-pkgconf libuv \
	$(if $(BR2_PACKAGE_TERN_TLS),mbedtls) \
	$(if $(BR2_PACKAGE_TERN_DNS),ldns)

# tern keeps its .config in its build directory, O=build
TERN_KCONFIG_DOTCONFIG = build/.config
ifeq ($(call qstrip,$(BR2_PACKAGE_TERN_CONFIG)),)
TERN_KCONFIG_DEFCONFIG = router_defconfig
else
TERN_KCONFIG_FILE = $(call qstrip,$(BR2_PACKAGE_TERN_CONFIG))
endif
TERN_KCONFIG_FRAGMENT_FILES = $(call qstrip,$(BR2_PACKAGE_TERN_CONFIG_FRAGMENT_FILES))
TERN_KCONFIG_EDITORS = menuconfig

TERN_MAKE_OPTS = \
	$(TARGET_CONFIGURE_OPTS) \
	CROSS_COMPILE="$(TARGET_CROSS)" \
	PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)" \
	O=build \
	PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var RUNSTATEDIR=/run \
	WERROR=0
# the kconfig targets (defconfig, olddefconfig, menuconfig) run tern's
# Kconfig through the host's python3 with kconfiglib
TERN_KCONFIG_OPTS = $(TERN_MAKE_OPTS) PYTHON=python3

# What the Buildroot configuration does not provide is turned off.
define TERN_KCONFIG_FIXUP_CMDS
	$(if $(BR2_PACKAGE_TERN_TLS),,$(call KCONFIG_DISABLE_OPT,CONFIG_TLS))
	$(if $(BR2_PACKAGE_TERN_DNS),,$(call KCONFIG_DISABLE_OPT,CONFIG_DNS))
	$(if $(BR2_STATIC_LIBS),$(call KCONFIG_ENABLE_OPT,CONFIG_STATIC),\
		$(call KCONFIG_DISABLE_OPT,CONFIG_STATIC))
endef

define TERN_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(TERN_MAKE_OPTS)
endef

define TERN_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/build/tern $(TARGET_DIR)/usr/sbin/tern
	ln -sf tern $(TARGET_DIR)/usr/sbin/sendmail
	ln -sf tern $(TARGET_DIR)/usr/sbin/mailq
	[ -f $(TARGET_DIR)/etc/tern.conf ] || \
		$(INSTALL) -D -m 0644 $(@D)/docs/tern.conf.example \
			$(TARGET_DIR)/etc/tern.conf
endef

define TERN_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(TERN_PKGDIR)/S50tern \
		$(TARGET_DIR)/etc/init.d/S50tern
endef

define TERN_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/ports/debian/tern.service \
		$(TARGET_DIR)/usr/lib/systemd/system/tern.service
endef

$(eval $(kconfig-package))
