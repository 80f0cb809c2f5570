SUMMARY = "Python functions for working with SQLite FTS4 search"
DESCRIPTION = "Ranking functions for SQLite full-text search; a dependency of sqlite-utils."
HOMEPAGE = "https://github.com/simonw/sqlite-fts4"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=86d3f3a95c324c9479bd8986968f4327"

SRC_URI[sha256sum] = "78b05eeaf6680e9dbed8986bde011e9c086a06cb0c931b3cf7da94c214e8930c"

inherit pypi setuptools3

RDEPENDS:${PN} += "python3-sqlite3"
