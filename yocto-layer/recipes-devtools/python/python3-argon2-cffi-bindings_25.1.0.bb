SUMMARY = "Low-level CFFI bindings for the Argon2 password hash"
DESCRIPTION = "The C reference implementation of Argon2 (bundled) behind a CFFI module; \
               python3-argon2-cffi is the API on top of it."
HOMEPAGE = "https://github.com/hynek/argon2-cffi-bindings"
LICENSE = "MIT & CC0-1.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=4642dfcbd13c1cc49e9f99df9de51ba1"

SRC_URI[sha256sum] = "b957f3e6ea4d55d820e40ff76f450952807013d361a65d7f28acc0acbf29229d"

# 25.1.0 and not 26.x: 26.x builds with scikit-build-core and CMake; 25.1.0 is a plain
# setuptools + CFFI build, which is all python3-argon2-cffi needs.
PYPI_PACKAGE = "argon2_cffi_bindings"

inherit pypi python_setuptools_build_meta

DEPENDS += "python3-cffi-native python3-setuptools-scm-native"

# The build script decides on SSE2 from platform.machine(), which is the build host's
# (x86-64) when cross-compiling: say it explicitly, or ARM targets get -msse2.
export ARGON2_CFFI_USE_SSE2 = "0"
export ARGON2_CFFI_USE_SSE2:x86-64 = "1"

RDEPENDS:${PN} += "python3-cffi"
