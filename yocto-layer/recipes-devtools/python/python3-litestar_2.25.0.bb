SUMMARY = "Litestar ASGI web framework"
DESCRIPTION = "Typed request bodies, guards and an OpenAPI schema; webd (the web HMI \
               and REST API) is built on it and served by uvicorn."
HOMEPAGE = "https://litestar.dev/"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=815d52e521f37c5d18570b018a0e565f"

SRC_URI[sha256sum] = "7fad91fcd89367fcd26534ab19b6b05763cc67ab9574baa914546089e1ed1fb4"

inherit pypi python_hatchling

# The [project] dependencies of litestar 2.25 that apply to Python >= 3.11.
RDEPENDS:${PN} += "\
    python3-anyio \
    python3-click \
    python3-httpx \
    python3-litestar-htmx \
    python3-msgspec \
    python3-multidict \
    python3-multipart \
    python3-polyfactory \
    python3-pyyaml \
    python3-rich \
    python3-rich-click \
    python3-sniffio \
    python3-typing-extensions \
"
