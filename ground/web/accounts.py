"""Web console accounts: users, password hashes, login sessions and CSRF tokens.

Passwords are kept only as scrypt hashes (RFC 7914; N=2**14, r=8, p=1, a
16-byte random salt per user), compared in constant time. A login makes a
session: a random 256-bit token sent as an HttpOnly, SameSite=Strict cookie,
and a second random token the page must echo in the ``X-CSRF-Token`` header
of every state-changing request (the synchroniser-token pattern); a forged
cross-site request carries the cookie but cannot read the CSRF token.
A user's role is the name of one key holder of the key file (``operator``
or a partner); it is fixed in the users file, never taken from a request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCRYPT_N = 2 ** 14
SCRYPT_R = 8
SCRYPT_P = 1
SESSION_TTL_S = 8 * 3600.0


class AccountError(ValueError):
    """A users file or user the console cannot use; one line."""


def hash_password(password: str, salt: bytes | None = None, n: int = SCRYPT_N) -> dict[str, object]:
    """The stored form of `password`: scrypt parameters, salt and hash (hex)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return {"kdf": "scrypt", "n": n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex(),
            "hash": digest.hex()}


def check_password(password: str, stored: dict[str, object]) -> bool:
    try:
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(str(stored["salt"])),
                                n=int(stored["n"]), r=int(stored["r"]),  # type: ignore[arg-type]
                                p=int(stored["p"]), dklen=32)  # type: ignore[arg-type]
    except (KeyError, ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), str(stored["hash"]))


@dataclass(frozen=True)
class User:
    name: str
    role: str


class UserStore:
    """The users file: ``{"users": {NAME: {"role": ROLE, "password": {...scrypt...}}}}``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.users: dict[str, dict[str, object]] = {}
        if self.path.exists():
            try:
                self.users = dict(json.loads(self.path.read_text())["users"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise AccountError(f"users file {self.path}: {exc!r}") from None

    def add(self, name: str, role: str, password: str) -> None:
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise AccountError(f"user name {name!r}: letters, digits, - and _ only")
        if len(password) < 8:
            raise AccountError("a password has at least 8 characters")
        self.users[name] = {"role": role, "password": hash_password(password)}
        self.path.write_text(json.dumps({"users": self.users}, indent=1) + "\n")
        self.path.chmod(0o600)

    def authenticate(self, name: str, password: str) -> User | None:
        entry = self.users.get(name)
        if entry is None:
            # Spend the same time on an unknown name, so timing does not reveal names.
            check_password(password, _DUMMY)
            return None
        if not check_password(password, entry["password"]):  # type: ignore[arg-type]
            return None
        return User(name, str(entry["role"]))

    def roles(self) -> set[str]:
        return {str(e["role"]) for e in self.users.values()}


_DUMMY = hash_password("", salt=b"\0" * 16)


@dataclass
class LoginSession:
    user: User
    csrf: str
    expires: float


class Sessions:
    """Login sessions by token; tokens are random and compared in constant time by lookup."""

    def __init__(self, ttl_s: float = SESSION_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._by_token: dict[str, LoginSession] = {}
        self._lock = threading.Lock()

    def create(self, user: User) -> tuple[str, LoginSession]:
        token = secrets.token_urlsafe(32)
        s = LoginSession(user, secrets.token_urlsafe(32), time.time() + self.ttl_s)
        with self._lock:
            self._by_token[token] = s
        return token, s

    def get(self, token: str | None) -> LoginSession | None:
        if not token:
            return None
        with self._lock:
            s = self._by_token.get(token)
            if s is not None and s.expires < time.time():
                del self._by_token[token]
                return None
            return s

    def drop(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

    @staticmethod
    def csrf_ok(s: LoginSession, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(s.csrf, presented)
