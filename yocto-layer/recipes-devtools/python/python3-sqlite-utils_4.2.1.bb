SUMMARY = "Python library and CLI for manipulating SQLite databases"
DESCRIPTION = "Table creation, upserts and schema changes on SQLite; wellgate's stores \
               use it for their schema migrations."
HOMEPAGE = "https://sqlite-utils.datasette.io/"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=86d3f3a95c324c9479bd8986968f4327"

SRC_URI[sha256sum] = "76114b6a5414714e6c70e5fa5c4781b301b590f6951b5da39c8cc60c21382ba1"

PYPI_PACKAGE = "sqlite_utils"

inherit pypi python_setuptools_build_meta

# python3-pip: sqlite-utils declares it for its "sqlite-utils install" plugin command.
RDEPENDS:${PN} += "\
    python3-click \
    python3-click-default-group \
    python3-dateutil \
    python3-pip \
    python3-pluggy \
    python3-sqlite-fts4 \
    python3-sqlite3 \
    python3-tabulate \
"
