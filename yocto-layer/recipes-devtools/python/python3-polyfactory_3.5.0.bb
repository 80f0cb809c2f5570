SUMMARY = "Mock data generation for Python types"
DESCRIPTION = "Builds example instances of dataclasses and typed models; Litestar \
               imports it for its OpenAPI examples."
HOMEPAGE = "https://github.com/litestar-org/polyfactory"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=d19d5b3cbaca4aeb8020606c0ccb29fe"

SRC_URI[sha256sum] = "78a1e4cf8f317be7da7c111d661f39db35080ec9c12b8df7c01dfbbc1c17250f"

inherit pypi python_hatchling

RDEPENDS:${PN} += "python3-faker python3-typing-extensions"
