SUMMARY = "Pcodec: lossless compression for numerical sequences"
DESCRIPTION = "Python bindings (PyO3, built with maturin) of the pco Rust crate; \
               wellgate's historian compresses per-tag chunks with it (0.25-0.6 bytes per point)."
HOMEPAGE = "https://github.com/pcodec/pcodec"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=86d3f3a95c324c9479bd8986968f4327"

SRC_URI[sha256sum] = "71d306ff461d7089fcf578649212afc6f78307b2a78d9c44d819a7eddeb3bfd0"

# A Rust extension: python_maturin (with python_pyo3 and cargo_common) cross-compiles
# it with the Yocto Rust toolchain. BitBake fetches no crates at build time on its
# own, so every crate of the sdist's Cargo.lock is listed, with its checksum, in the
# -crates.inc file; cargo-update-recipe-crates adds the update_crates task that
# regenerates it.
require ${BPN}-crates.inc

inherit pypi python_maturin cargo-update-recipe-crates

RDEPENDS:${PN} += "python3-numpy"
