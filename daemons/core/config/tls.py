"""Checks of a TLS certificate and key pair named in the configuration (webd's `[web]`).

Done when the configuration is loaded, so `wellgate config validate` and a reload report
a missing, unreadable, encrypted or mismatched pair at its line in gateway.toml, rather
than webd failing later inside the HTTP server with an OpenSSL message.
"""

from __future__ import annotations

import ssl
from pathlib import Path

# (key of the problem: "tls_cert" or "tls_key", English, Spanish)
TlsProblem = tuple[str, str, str]


class _EncryptedKey(Exception):
    pass


def _no_passphrase() -> bytes:
    # webd starts unattended: a key that needs a passphrase cannot be used.  Without this
    # callback OpenSSL would prompt on the terminal.
    raise _EncryptedKey


def _readable(key: str, path: Path, what_en: str, what_es: str) -> list[TlsProblem]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [(key, f"{what_en} '{path}' does not exist", f"{what_es} '{path}' no existe")]
    except OSError as exc:
        return [(key, f"{what_en} '{path}' cannot be read: {exc.strerror}",
                 f"{what_es} '{path}' no se puede leer: {exc.strerror}")]
    if b"-----BEGIN" not in data:
        return [(key, f"{what_en} '{path}' is not a PEM file",
                 f"{what_es} '{path}' no es un archivo PEM")]
    return []


def check_pair(cert: Path, key: Path) -> list[TlsProblem]:
    """Problems with the pair (empty when webd can serve HTTPS with it)."""
    problems = _readable("tls_cert", cert, "the certificate", "el certificado") + \
        _readable("tls_key", key, "the private key", "la clave privada")
    if problems:
        return problems
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_verify_locations(cafile=str(cert))  # parses the certificate on its own
    except ssl.SSLError as exc:
        return [("tls_cert", f"the certificate '{cert}' is not a valid PEM certificate "
                 f"({exc.reason or exc})", f"el certificado '{cert}' no es un certificado PEM "
                 f"válido ({exc.reason or exc})")]
    try:
        ctx.load_cert_chain(str(cert), str(key), password=_no_passphrase)
    except _EncryptedKey:
        return [("tls_key", f"the private key '{key}' is encrypted: webd needs it without "
                 "a passphrase (protect it with file permissions instead)",
                 f"la clave privada '{key}' está cifrada: webd la necesita sin frase de "
                 "paso (protéjala con los permisos del archivo)")]
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            return [("tls_key", f"the private key '{key}' does not match the certificate "
                     f"'{cert}'", f"la clave privada '{key}' no corresponde al certificado "
                     f"'{cert}'")]
        return [("tls_key", f"the private key '{key}' is not a valid PEM key "
                 f"({exc.reason or exc})", f"la clave privada '{key}' no es una clave PEM "
                 f"válida ({exc.reason or exc})")]
    return []
