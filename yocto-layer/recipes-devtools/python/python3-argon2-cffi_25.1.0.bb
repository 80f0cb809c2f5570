SUMMARY = "Argon2 password hashing for Python"
DESCRIPTION = "argon2id hashes for the gateway's user passwords (daemons/core/access)."
HOMEPAGE = "https://argon2-cffi.readthedocs.io/"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=e91e96ef55f45fe9caf7fc3e73672c4b"

SRC_URI[sha256sum] = "694ae5cc8a42f4c4e2bf2ca0e64e51e23a040c6a517a85074683d3959e1346c1"

PYPI_PACKAGE = "argon2_cffi"

inherit pypi python_hatchling

DEPENDS += "python3-hatch-fancy-pypi-readme-native python3-hatch-vcs-native"

RDEPENDS:${PN} += "python3-argon2-cffi-bindings"
