SUMMARY = "Fast serialization and validation for JSON, MessagePack, YAML and TOML"
DESCRIPTION = "A C extension that decodes and validates typed structures; Litestar \
               uses it for request and response bodies."
HOMEPAGE = "https://jcristharif.com/msgspec/"
LICENSE = "BSD-3-Clause"
LIC_FILES_CHKSUM = "file://LICENSE;md5=c21402f8022478021f697044388b97c4"

SRC_URI[sha256sum] = "a0d57d3ca7734542eb6861e72d974ab051e6cf73ea6b01b263f77170593362be"

inherit pypi python_setuptools_build_meta

DEPENDS += "python3-setuptools-scm-native"

RDEPENDS:${PN} += "python3-datetime python3-json"
