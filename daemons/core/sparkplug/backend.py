"""The protobuf runtime under the Sparkplug codec, checked once at import.

The pure-Python protobuf backend is about 22× slower than upb (PITFALLS): a gateway that
silently fell back to it would spend its CPU budget on encoding.  `protobuf_backend()` says
which backend is in use; `require_fast_backend()` raises (forwardd and hostd call it at
start) and importing this package logs a warning when it is not upb.
"""

from __future__ import annotations

import logging

from google.protobuf.internal import api_implementation

_log = logging.getLogger("wellgate.sparkplug")

FAST_BACKEND = "upb"


class SlowProtobufBackend(RuntimeError):
    """The protobuf runtime is not the compiled upb backend."""


def protobuf_backend() -> str:
    return str(api_implementation.Type())


def require_fast_backend() -> None:
    """Raise `SlowProtobufBackend` unless protobuf runs on upb."""
    backend = protobuf_backend()
    if backend != FAST_BACKEND:
        raise SlowProtobufBackend(
            f"protobuf uses the {backend!r} backend, not {FAST_BACKEND!r}: Sparkplug encoding "
            "would be about 20x slower. Install a protobuf wheel with the compiled backend "
            "for this platform and unset PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION.")


def warn_if_slow() -> None:
    backend = protobuf_backend()
    if backend != FAST_BACKEND:
        _log.warning("protobuf backend is %r, not %r: Sparkplug encoding will be slow",
                     backend, FAST_BACKEND)
