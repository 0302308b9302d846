"""Password hashing (argon2id via argon2-cffi) and the password policy, with Chinese messages."""

from __future__ import annotations

import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults follow RFC 9106's low-memory recommendation (argon2id, 64 MiB, t=3).
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps an unknown username as slow as a wrong password (no user enumeration by
    timing). Made on first use, not at import: a hash costs ~120 ms, and every process imported this module (each
    CLI command, `simulate`'s shard processes) while few verify a password."""
    return _HASHER.hash("not-a-real-password-0")

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    dummy = _dummy_hash()  # before either answer: the first check in a process pays for it whoever logs in
    try:
        return _HASHER.verify(password_hash or dummy, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def policy_problems(password: str, *, username: str, min_length: int) -> list[str]:
    """Why a password is refused (等保 2.0: length and complexity), empty when it is acceptable."""
    problems = []
    if len(password) < min_length:
        problems.append(f"密码长度不能少于 {min_length} 个字符")
    classes = sum(any(c in chars for c in password) for chars in _CLASSES)
    classes += any(not c.isalnum() for c in password)
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字和符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    return problems
