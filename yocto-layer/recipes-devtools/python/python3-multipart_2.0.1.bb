SUMMARY = "Parser for multipart/form-data"
DESCRIPTION = "A streaming multipart/form-data parser (the 'multipart' distribution, \
               not python-multipart); Litestar parses form uploads with it."
HOMEPAGE = "https://github.com/defnull/multipart"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=f7797687be03eee9747e041a067372fd"

SRC_URI[sha256sum] = "5dfea7ce4260e10a9e620369449e7d41c269a94e192db9ea4af1a0059cddd370"

inherit pypi python_flit_core
