SUMMARY = "Protocol Buffers for Python, with the compiled upb backend"
DESCRIPTION = "forwardd and hostd encode and decode Sparkplug B payloads with it; the \
               committed gencode (daemons/core/sparkplug) is 7.35.x, so runtime 7.x is \
               needed where meta-python still has 6.x. The sdist's setup.py builds the \
               upb C extension (forwardd refuses to start on the pure-Python backend)."
HOMEPAGE = "https://protobuf.dev/"
LICENSE = "BSD-3-Clause"
LIC_FILES_CHKSUM = "file://LICENSE;md5=37b5762e07f0af8c74ce80a8bda4266b"

SRC_URI[sha256sum] = "ce115a26fe0c39a2c29973d914d327e516a6455464489fe3cd1e51a1b354f81a"

inherit pypi setuptools3

RDEPENDS:${PN} += "python3-datetime python3-json python3-logging"
