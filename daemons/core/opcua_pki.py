"""opcuad's PKI folder: its application instance certificate and the client trust list.

Shared by opcuad (which serves with the certificate and checks clients against the
trusted folder) and `wellgate opcua` (which shows or renews the certificate and moves
a refused client's certificate into the trusted folder).

    own/cert.der  own/key.pem   the application instance certificate, made on first start
    trusted/*.der|*.pem         client certificates an administrator trusts
    rejected/<thumbprint>.der   certificates of clients that were refused, kept so that an
                                administrator can trust them (`wellgate opcua trust`)

Thumbprints are SHA-1 of the DER certificate, as OPC UA and UaExpert show them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from daemons.core.config import GatewayConfig

CERT_DAYS = 3650  # a gateway lives years in the field; renew with `wellgate opcua cert --renew`


@dataclass(frozen=True, slots=True)
class Pki:
    root: Path

    @property
    def cert(self) -> Path:
        return self.root / "own" / "cert.der"

    @property
    def key(self) -> Path:
        return self.root / "own" / "key.pem"

    @property
    def trusted(self) -> Path:
        return self.root / "trusted"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    def make_dirs(self) -> None:
        for d in (self.root / "own", self.trusted, self.rejected):
            d.mkdir(parents=True, exist_ok=True, mode=0o750)


def pki_of(config: GatewayConfig) -> Pki:
    return Pki(config.opcua.pki_dir or config.paths.state_dir / "opcua-pki")


def application_uri(site: str) -> str:
    return f"urn:wellgate:{quote(site, safe=':-._~')}:opcuad"


def namespace_uri(site: str) -> str:
    return f"urn:wellgate:{site}"


def host_names(config: GatewayConfig) -> list[str]:
    names = [socket.gethostname(), socket.getfqdn(), "localhost", *config.opcua.hostnames]
    if config.opcua.bind not in ("0.0.0.0", "::", ""):
        names.append(config.opcua.bind)
    return list(dict.fromkeys(n for n in names if n))


def thumbprint(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest()  # the OPC UA thumbprint is SHA-1


def load_any(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def make_certificate(config: GatewayConfig, pki: Pki) -> x509.Certificate:
    """A new key and self-signed certificate with the gateway's host names (OPC 10000-6
    §6.2.2: the application URI and the host names in subjectAltName)."""
    from asyncua.crypto import cert_gen

    pki.make_dirs()
    key = cert_gen.generate_private_key()
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(
        application_uri(config.gateway.site))]
    for name in host_names(config):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = cert_gen.generate_self_signed_app_certificate(
        key, f"wellgate opcuad {config.gateway.site}"[:64], {"organizationName": "wellgate"}, sans,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], days=CERT_DAYS)
    tmp_key, tmp_cert = pki.key.with_suffix(".tmp"), pki.cert.with_suffix(".tmp")
    tmp_key.write_bytes(cert_gen.dump_private_key_as_pem(key))
    tmp_key.chmod(0o600)
    tmp_cert.write_bytes(der(cert))
    tmp_key.replace(pki.key)
    tmp_cert.replace(pki.cert)
    return cert


def ensure_certificate(config: GatewayConfig, pki: Pki) -> tuple[x509.Certificate, bool]:
    """The certificate, made now if there is none (returns it and whether it was made)."""
    if pki.cert.is_file() and pki.key.is_file():
        return load_any(pki.cert), False
    return make_certificate(config, pki), True


def describe(cert: x509.Certificate) -> dict[str, Any]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in san.get_values_for_type(x509.DNSName)] + \
            [str(v) for v in san.get_values_for_type(x509.IPAddress)]
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        names, uris = [], []
    return {"subject": cert.subject.rfc4514_string(), "thumbprint": thumbprint(der(cert)),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "application_uri": uris[0] if uris else "", "hostnames": names}


def trusted_thumbprints(pki: Pki) -> set[str]:
    out = set()
    for p in pki.trusted.glob("*"):
        if p.suffix.lower() in (".der", ".pem", ".crt"):
            try:
                out.add(thumbprint(der(load_any(p))))
            except (OSError, ValueError):
                continue  # a damaged file trusts nobody
    return out


