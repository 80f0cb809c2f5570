SUMMARY = "OPC-UA client and server library for asyncio"
DESCRIPTION = "Pure-Python OPC-UA (opcua-asyncio); opcuad, the OPC-UA server for \
               SCADA masters, is built on it."
HOMEPAGE = "https://github.com/FreeOpcUa/opcua-asyncio"
LICENSE = "LGPL-3.0-or-later"
LIC_FILES_CHKSUM = "file://COPYING;md5=e6a600fd5e1d9cbde2d983680233ad02"

SRC_URI[sha256sum] = "d741f5e21f189ac0a45b8dda13539c2d49d8d992b9b62d2758efe1bfd3d1454c"

inherit pypi python_hatchling

# wait-for2 is only required below Python 3.12; wrynose ships 3.14.
RDEPENDS:${PN} += "\
    python3-aiosqlite \
    python3-anyio \
    python3-cryptography \
    python3-dateutil \
    python3-pytz \
    python3-sortedcontainers \
    python3-typing-extensions \
"
