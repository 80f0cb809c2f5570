SUMMARY = "Format click help output with rich"
DESCRIPTION = "Drop-in replacement for click's help formatter; Litestar's CLI uses it."
HOMEPAGE = "https://github.com/ewels/rich-click"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=5372b77c3720be60b7eff9a9a5c0000d"

SRC_URI[sha256sum] = "324cba7513cd4187ee92b2eef21f071714e45be062458c8b157bd7e0c81103e3"

PYPI_PACKAGE = "rich_click"

inherit pypi python_setuptools_build_meta

RDEPENDS:${PN} += "python3-click python3-rich"
