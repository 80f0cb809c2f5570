"""Ed25519 keys for signed updates.

The private key stays on the build machine (PEM, PKCS#8, unencrypted or protected by the
file system); each gateway trusts the public keys (PEM, SubjectPublicKeyInfo, `*.pub`)
in /etc/wellgate/update-keys/.  A key is named by its id: the first 16 hex digits of
the SHA-256 of its 32 raw bytes, written into every manifest it signs so that a refusal
can say which key signed a bundle.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from daemons.core.update.errors import UpdateError

KEY_SUFFIX = ".pub"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class TrustedKey:
    id: str
    path: Path
    public: Ed25519PublicKey

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def generate(private_path: Path, public_path: Path) -> str:
    """A new key pair; the private key file is created 0600.  Returns the key id."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    public_path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_id(public)


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise UpdateError(f"cannot read the signing key {path}: {exc}",
                          f"no se puede leer la clave de firma {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UpdateError(f"{path} is not an Ed25519 private key",
                          f"{path} no es una clave privada Ed25519")
    return key


def load_public(path: Path) -> TrustedKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UpdateError(f"{path}: not a PEM public key ({exc})",
                          f"{path}: no es una clave pública PEM ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise UpdateError(f"{path}: not an Ed25519 public key",
                          f"{path}: no es una clave pública Ed25519")
    return TrustedKey(key_id(key), path, key)


def trusted_keys(folder: Path) -> list[TrustedKey]:
    """Every `*.pub` in `folder`; an unreadable one is an error (a typo in a key file must
    not silently leave the gateway trusting fewer keys than the technician thinks)."""
    if not folder.is_dir():
        return []
    return [load_public(p) for p in sorted(folder.glob(f"*{KEY_SUFFIX}"))]
