"""webd's HTTPS: the server's TLS context and the optional plain-HTTP redirect.

The certificate and key were checked when the configuration was loaded
(daemons/core/config/tls.py); here they become one `ssl.SSLContext` that uvicorn serves
with.  The context is kept, so a reload (SIGHUP) after a certificate renewal loads the new
pair into it: new connections get the new certificate without a restart.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from litestar.types import Receive, Scope, Send

# Plain-HTTP answers carry the same hardening as webd's own (no Server header: uvicorn's
# is switched off where the redirect server is configured).
_REDIRECT_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"),
                     (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"),
                     (b"x-frame-options", b"DENY")]


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context with the pair; TLS 1.2 at least (no SSLv3, TLS 1.0 or 1.1)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def _host_without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RedirectToHttps:
    """An ASGI app answering every plain-HTTP request with 308 to the same path on HTTPS.

    308 rather than 301 keeps the method and body, so an API client that was pointed at
    http:// is sent on rather than silently turned into a GET.  Cookies are never read
    here: the session cookie is Secure under TLS, a browser does not send it over HTTP.
    """

    def __init__(self, https_port: int, fallback_host: str) -> None:
        self.https_port = https_port
        self.fallback_host = fallback_host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope.get("headers") or [])
        host = _host_without_port(headers.get(b"host", b"").decode("latin-1").strip()) \
            or self.fallback_host
        if not host or any(c in host for c in "/\\@ \t\r\n"):
            await self._answer(send, 400, b"a Host header is needed to redirect to HTTPS\n")
            return
        port = "" if self.https_port == 443 else f":{self.https_port}"
        target = f"https://{host}{port}{scope.get('raw_path', b'').decode('latin-1') or '/'}"
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        await self._answer(send, 308, f"use {target}\n".encode(),
                           [(b"location", target.encode("latin-1"))])

    @staticmethod
    async def _answer(send: Send, status: int, body: bytes,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_REDIRECT_HEADERS, *(extra or []),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
