# wellgate is proprietary and has no public home page: HOMEPAGE stays unset (the
# oelint-adv rule that wants it is suppressed for this recipe only, tests/yocto).
SUMMARY = "wellgate: edge appliance for oil and gas well sites"
DESCRIPTION = "Small systemd daemons that poll Modbus devices into a shared memory ring \
               and a SQLite historian (acqd), compute artificial-lift and drilling \
               figures (calcd), manage ISA-18.2 alarms (alarmd) and serve a web HMI and \
               REST API (webd), with the wellgate command line for technicians."
SECTION = "console/network"
# pyproject.toml: license = "LicenseRef-Proprietary". MIT: uPlot, bundled for webd's
# trend charts (below).
LICENSE = "CLOSED & MIT"
LIC_FILES_CHKSUM = "file://../uplot/LICENSE;md5=e6317ce4dbbe5c9f1c6946e3aba62296"

# Where the source comes from (README.md, "Where the wellgate source comes from"):
# - default: the git repository this layer is part of (WELLGATE_CHECKOUT: the layer is
#   yocto-layer/ in it, this recipe three levels down), at the tip of WELLGATE_BRANCH:
#   what is committed is built, a dirty work tree or a .venv/ is not.
#   kas/wellgate-qemuarm64.yml builds this way.
# - a release: local.conf or a kas overlay sets WELLGATE_GIT_URI to the project's git
#   server and SRCREV to the release commit, so that the build is reproducible.
WELLGATE_CHECKOUT ??= "${@os.path.abspath(os.path.join(d.getVar('FILE_DIRNAME'), '../../..'))}"
WELLGATE_BRANCH ??= "main"
WELLGATE_GIT_URI ??= "git://${WELLGATE_CHECKOUT};protocol=file;branch=${WELLGATE_BRANCH}"
PV = "0.1.0+git"
SRC_URI = "${WELLGATE_GIT_URI};name=wellgate \
           git://github.com/leeoniya/uPlot.git;protocol=https;branch=master;name=uplot;destsuffix=uplot;tag=${UPLOT_VERSION} \
           "
# The tip of the local branch is the point of the default (build what was just
# committed); a release pins SRCREV_wellgate (README.md), which this default yields to.
# nooelint: oelint.vars.autorev
SRCREV_wellgate ??= "${AUTOREV}"
# uPlot: "make web" copies it from web/package-lock.json's npm package into
# daemons/webd/static/vendor/ (not in git), and wrynose's BitBake has no npm fetcher.
# The release tag of uPlot's own repository holds the same dist/ files, byte for byte
# (checked for this version); the fetcher checks that SRCREV_uplot is the tag's commit.
# tests/yocto keeps UPLOT_VERSION equal to the version web/package-lock.json pins.
UPLOT_VERSION = "1.6.32"
SRCREV_uplot = "e995b061e9fc5476a6d862cd2fb2ebc7452ca012"
SRCREV_FORMAT = "wellgate_uplot"

# The wheel is built by setuptools' PEP 517 backend from pyproject.toml, as pip does.
inherit python_setuptools_build_meta systemd useradd

# Units from the source tree's systemd/ directory (systemd/README.md explains them).
# The gateway stack: wellgate.target Wants= every one of these services.
WELLGATE_GATEWAY_UNITS = "\
    wellgate.target \
    wellgate-acqd.service \
    wellgate-alarmd.service \
    wellgate-calcd.service \
    wellgate-forwardd.service \
    wellgate-opcuad.service \
    wellgate-webd.service \
"
# hostd is the cloud side (MQTT to PostgreSQL): packaged apart, never on a gateway.
WELLGATE_CLOUD_UNITS = "wellgate-hostd.service"

PACKAGE_BEFORE_PN = "${PN}-hostd"

SYSTEMD_PACKAGES = "${PN} ${PN}-hostd"
# Enabling the target starts the whole stack at boot; the services are pulled in by
# the target's Wants= (each has WantedBy=wellgate.target for systemctl enable too).
SYSTEMD_SERVICE:${PN} = "${WELLGATE_GATEWAY_UNITS}"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"
SYSTEMD_SERVICE:${PN}-hostd = "${WELLGATE_CLOUD_UNITS}"
SYSTEMD_AUTO_ENABLE:${PN}-hostd = "disable"

# One static system user and group shared by every daemon, as in
# systemd/wellgate.sysusers.conf: no home, no login shell.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system wellgate"
USERADD_PARAM:${PN} = "--system --gid wellgate --home-dir / --no-create-home \
                       --shell ${base_sbindir}/nologin --comment 'wellgate edge daemons' wellgate"

# Put uPlot where webd serves it before the wheel is built (package-data picks it up).
do_compile:prepend() {
    install -d ${S}/daemons/webd/static/vendor
    install -m 0644 ${UNPACKDIR}/uplot/dist/uPlot.iife.min.js ${UNPACKDIR}/uplot/dist/uPlot.min.css \
        ${S}/daemons/webd/static/vendor/
}

do_install:append() {
    install -d ${D}${systemd_system_unitdir}
    for unit in ${WELLGATE_GATEWAY_UNITS} ${WELLGATE_CLOUD_UNITS}; do
        install -m 0644 ${S}/systemd/$unit ${D}${systemd_system_unitdir}/$unit
        # A unit whose program this version does not install would fail at boot:
        # say so at build time (forwardd, opcuad and hostd land in later issues).
        program=$(sed -n 's|^ExecStart=\([^ ]*\).*|\1|p' ${S}/systemd/$unit)
        if [ -n "$program" ] && [ ! -e "${D}$program" ]; then
            bbwarn "$unit starts $program, which is not in [project.scripts] of this wellgate version"
        fi
    done
    install -D -m 0644 ${S}/systemd/wellgate.sysusers.conf ${D}${nonarch_libdir}/sysusers.d/wellgate.conf
    install -D -m 0644 ${S}/systemd/wellgate.tmpfiles.conf ${D}${nonarch_libdir}/tmpfiles.d/wellgate.conf

    # Configuration: root's, readable by the daemons through the group (tmpfiles.conf).
    install -d -m 0750 -o root -g wellgate ${D}${sysconfdir}/wellgate ${D}${sysconfdir}/wellgate/tagmaps
    install -m 0640 -o root -g wellgate ${S}/config/gateway.toml ${D}${sysconfdir}/wellgate/gateway.toml

    # The reference tag maps and alarm files, for "wellgate tagmap apply" and
    # "wellgate alarms apply": shipped read-only, never active by themselves.
    install -d ${D}${datadir}/wellgate/tagmaps ${D}${datadir}/wellgate/alarms
    install -m 0644 ${S}/tagmaps/*.csv ${D}${datadir}/wellgate/tagmaps/
    install -m 0644 ${S}/alarms/*.csv ${D}${datadir}/wellgate/alarms/
}

# The gateway's configuration survives package upgrades (opkg/dpkg/rpm keep an edited
# conffile). Tag maps under /etc/wellgate/tagmaps are written by the CLI at run time.
CONFFILES:${PN} = "${sysconfdir}/wellgate/gateway.toml"

FILES:${PN}-hostd += "${systemd_system_unitdir}/wellgate-hostd.service"
FILES:${PN} += "\
    ${nonarch_libdir}/sysusers.d \
    ${nonarch_libdir}/tmpfiles.d \
    ${PYTHON_SITEPACKAGES_DIR}/config \
    ${systemd_system_unitdir} \
"

# The [project] dependencies of pyproject.toml, one recipe each (meta-python or this
# layer); tests/yocto checks that every one is listed here.
WELLGATE_PYPROJECT_RDEPENDS = "\
    python3-argon2-cffi \
    python3-asyncua \
    python3-cryptography \
    python3-gmqtt \
    python3-jinja2 \
    python3-litestar \
    python3-msgpack \
    python3-numpy \
    python3-pcodec \
    python3-prometheus-client \
    python3-protobuf \
    python3-pymodbus \
    python3-pyserial \
    python3-sqlite-utils \
    python3-structlog \
    python3-tomli-w \
    python3-uvicorn \
    python3-zstandard \
"
# python3-modules: the standard library as a whole (sqlite3, mmap, asyncio, tomllib,
# zoneinfo, ctypes, email, ssl...); per-module packages would turn a forgotten one into
# an ImportError on the gateway, for a few MB saved. tzdata: [gateway] timezone.
RDEPENDS:${PN} += "\
    ${WELLGATE_PYPROJECT_RDEPENDS} \
    python3-modules \
    tzdata \
"

RDEPENDS:${PN}-hostd = "${PN} python3-gmqtt python3-psycopg"
