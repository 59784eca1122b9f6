SUMMARY = "Small mail transfer agent for routers and appliances"
DESCRIPTION = "tern queues and delivers mail: a sendmail command, an SMTP \
listener, MX or smarthost delivery with STARTTLS and DANE. Its modules are \
chosen with Kconfig (bitbake -c menuconfig tern)."
HOMEPAGE = "https://example.org/tern/"
SECTION = "mail"
# set to tern's license once it has one in the tree
LICENSE = "CLOSED"

# python3-kconfiglib-native: meta-python (layer dependency)
DEPENDS = "libuv mbedtls ldns python3-kconfiglib-native"

# defconfig: tern's .config for this image (a copy of configs/*_defconfig
# or the output of `bitbake -c savedefconfig tern`). Every *.cfg in
# SRC_URI is a fragment merged over it, in order, e.g. uci.cfg.
SRC_URI = "git://example.org/tern.git;protocol=https;branch=main \
           file://defconfig \
           file://tern.init \
          "
SRCREV = "${AUTOREV}"
PV = "0.1.0+git"

# Scarthgap (5.0) and later unpack to UNPACKDIR; ${S} is the checkout
S = "${WORKDIR}/git"
B = "${WORKDIR}/build"

inherit cml1 pkgconfig python3native update-rc.d systemd

# tern's Makefile builds out of tree into O=${B}; its .config is ${B}/.config
KCONFIG_CONFIG_ROOTDIR = "${B}"
KCONFIG_CONFIG_COMMAND = "-C ${S} O=${B} menuconfig"

EXTRA_OEMAKE = "-C ${S} O=${B} \
    CROSS_COMPILE=${TARGET_PREFIX} \
    CC='${CC}' AR='${AR}' STRIP='${STRIP}' SIZE='${TARGET_PREFIX}size' \
    CFLAGS='${CFLAGS}' LDFLAGS='${LDFLAGS}' \
    PKG_CONFIG=pkg-config PYTHON=python3 \
    PREFIX=${prefix} SYSCONFDIR=${sysconfdir} \
    LOCALSTATEDIR=${localstatedir} RUNSTATEDIR=/run \
    WERROR=0 V=1 \
"

# the .cfg files of SRC_URI, in order
def tern_fragments(d):
    import os
    files = []
    for url in (d.getVar("SRC_URI") or "").split():
        path = url.split(";")[0]
        if path.startswith("file://") and path.endswith(".cfg"):
            files.append(os.path.basename(path[len("file://"):]))
    return " ".join(files)

do_configure() {
    srcdir="${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
    mkdir -p ${B}
    if [ -f "$srcdir/defconfig" ]; then
        cp "$srcdir/defconfig" ${B}/.config
    else
        oe_runmake router_defconfig
    fi
    # a fragment's lines come after the base ones; olddefconfig keeps
    # the last assignment of each symbol
    for f in ${@tern_fragments(d)}; do
        cat "$srcdir/$f" >> ${B}/.config
    done
    oe_runmake olddefconfig
}

do_compile() {
    oe_runmake
}

do_install() {
    install -D -m 0755 ${B}/tern ${D}${sbindir}/tern
    ln -sf tern ${D}${sbindir}/sendmail
    ln -sf tern ${D}${sbindir}/mailq
    install -D -m 0644 ${S}/docs/tern.conf.example ${D}${sysconfdir}/tern.conf
    install -D -m 0644 ${S}/docs/tern.8 ${D}${mandir}/man8/tern.8
    install -D -m 0644 ${S}/docs/tern.conf.5 ${D}${mandir}/man5/tern.conf.5
    srcdir="${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -D -m 0755 "$srcdir/tern.init" ${D}${sysconfdir}/init.d/tern
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -D -m 0644 ${S}/ports/debian/tern.service \
            ${D}${systemd_system_unitdir}/tern.service
    fi
}

INITSCRIPT_NAME = "tern"
INITSCRIPT_PARAMS = "defaults 50"
SYSTEMD_SERVICE:${PN} = "tern.service"

CONFFILES:${PN} = "${sysconfdir}/tern.conf"
RPROVIDES:${PN} = "virtual-sendmail"
RCONFLICTS:${PN} = "postfix exim msmtp-mta"
