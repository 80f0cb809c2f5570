"""Passwords and API keys: argon2id hashes, the password policy, one-time secrets.

Parameters (docs/access.md): argon2id, RFC 9106's "second recommended option" for
memory-constrained systems — 3 passes over 64 MiB with 4 lanes, 16-byte salt, 32-byte
tag; about 0.15 s per check on a gateway core, 64 MiB for that moment.  Each hash
carries its own parameters (PHC string `$argon2id$v=19$m=65536,t=3,p=4$…`), so raising
them later needs no migration: a login with a hash made with other parameters is checked
with the old ones and re-hashed with the current ones (`needs_rehash`).

API keys are 256-bit random secrets, so one SHA-256 is as strong as a slow hash and lets
a machine client authenticate every request cheaply; only the hash is stored, the key is
shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")
MAX_PASSWORD = 1024  # argon2 takes anything; a cap keeps one request from costing more
API_KEY_PREFIX = "wg"


@dataclass(frozen=True, slots=True)
class HashParams:
    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


CURRENT = HashParams()


class Passwords:
    """argon2id with the given parameters (CURRENT on a gateway; tests pass cheap ones)."""

    def __init__(self, params: HashParams = CURRENT) -> None:
        self.params = params
        self._ph = PasswordHasher(time_cost=params.time_cost, memory_cost=params.memory_kib,
                                  parallelism=params.parallelism, hash_len=32, salt_len=16,
                                  type=Type.ID)

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """True when `password` matches; False for a wrong one or an unreadable hash."""
        try:
            return bool(self._ph.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend the time of a real check, so an unknown user name is not told apart by
        how fast the answer comes."""
        self.verify(self._ph.hash("not-a-password"), password)


def common_passwords(path: Path = COMMON_PASSWORDS) -> frozenset[str]:
    """The shipped list of passwords too common to allow (lower case, one per line)."""
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.add(word.casefold())
    return frozenset(words)


def policy_problems(password: str, user_name: str, min_length: int,
                    common: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """Why `password` is not acceptable for `user_name`, as (en, es) pairs; [] if it is."""
    out = []
    if len(password) < min_length:
        out.append((f"the password must have at least {min_length} characters",
                    f"la contraseña debe tener al menos {min_length} caracteres"))
    if len(password) > MAX_PASSWORD:
        out.append((f"the password must have at most {MAX_PASSWORD} characters",
                    f"la contraseña debe tener como máximo {MAX_PASSWORD} caracteres"))
    folded = password.casefold()
    name = user_name.casefold()
    if name and (folded == name or (len(name) >= 3 and name in folded)):
        out.append(("the password must not contain the user name",
                    "la contraseña no debe contener el nombre de usuario"))
    common = common_passwords() if common is None else common
    # "Password2024!" is "password" with decoration: strip trailing digits and symbols too.
    bare = folded.rstrip("0123456789!@#$%.*_-?")
    if folded in common or (len(bare) >= 4 and bare in common):
        out.append(("this password is on the list of common passwords",
                    "esta contraseña está en la lista de contraseñas comunes"))
    if password and len(set(password)) <= 2:
        out.append(("the password repeats one or two characters",
                    "la contraseña repite uno o dos caracteres"))
    return out


def one_time_password() -> str:
    """20 characters from a 120-bit secret, without look-alikes for reading aloud."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str  # shown once: wg_<id>_<secret>
    key_id: str  # stored, to find the key's user without scanning
    digest: str  # stored: SHA-256 of the secret part, hex


def new_api_key() -> ApiKey:
    key_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return ApiKey(f"{API_KEY_PREFIX}_{key_id}_{secret}", key_id, _digest(secret))


def split_api_key(key: str) -> tuple[str, str] | None:
    """(key id, digest of the secret) of a presented key, or None if it is malformed."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1], _digest(parts[2])


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
