SUMMARY = "HTMX integration for Litestar"
DESCRIPTION = "Request and response helpers for HTMX; a hard dependency of Litestar 2."
HOMEPAGE = "https://github.com/litestar-org/litestar-htmx"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=0725c141d419d8a7079d77af877402be"

SRC_URI[sha256sum] = "e02d1a3a92172c874835fa3e6749d65ae9fc626d0df46719490a16293e2146fb"

PYPI_PACKAGE = "litestar_htmx"

inherit pypi python_hatchling
