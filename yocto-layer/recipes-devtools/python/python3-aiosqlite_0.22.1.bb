SUMMARY = "asyncio bridge to the standard sqlite3 module"
DESCRIPTION = "Runs sqlite3 calls in a thread for asyncio code; asyncua keeps its \
               history with it."
HOMEPAGE = "https://aiosqlite.omnilib.dev/"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=f0c422eaa1f23d09f8203dc0af3e2d54"

SRC_URI[sha256sum] = "043e0bd78d32888c0a9ca90fc788b38796843360c855a7262a532813133a0650"

inherit pypi python_flit_core

RDEPENDS:${PN} += "python3-asyncio python3-sqlite3"
