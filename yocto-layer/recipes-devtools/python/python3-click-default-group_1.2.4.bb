SUMMARY = "click group that runs a default subcommand"
DESCRIPTION = "Extends click.Group to invoke a command without an explicit subcommand \
               name; a dependency of sqlite-utils."
HOMEPAGE = "https://github.com/click-contrib/click-default-group"
LICENSE = "BSD-3-Clause"
LIC_FILES_CHKSUM = "file://LICENSE;md5=65eba42bf46c44352304fa7df67c632f"

SRC_URI[sha256sum] = "eb3f3c99ec0d456ca6cd2a7f08f7d4e91771bef51b01bdd9580cc6450fe1251e"

PYPI_PACKAGE = "click_default_group"

inherit pypi python_flit_core

RDEPENDS:${PN} += "python3-click"
