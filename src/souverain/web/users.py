"""The users file of `souverain serve --users FILE`: one ``name:scrypt$n$r$p$salt$hash`` line per
user (salted scrypt from the standard library, compared in constant time), written by
`souverain users add` and read when the server starts."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from souverain.errors import UsageError

N, R, P = 2**14, 8, 1  # scrypt cost: about 16 MiB and a few tens of ms per check
NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # scrypt reads all of it: bound the work a sign-in form can ask for


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


# checked when the name is unknown, so that an unknown name takes as long as a wrong password
_DUMMY = hash_password(secrets.token_hex(16))


def verify(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (``scrypt$n$r$p$salt$hash``); False for None (an
    unknown user) after the same work."""
    if len(password) > MAX_PASSWORD:
        return False
    parts = (stored or _DUMMY).split("$")
    try:
        scheme, n, r, p, salt, expected = parts
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected) // 2, maxmem=64 * 1024 * 1024)
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected) and stored is not None


def read_users(path: Path) -> dict[str, str]:
    """Name -> stored hash; UsageError ``FILE:LINE: problem`` for a line that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--users {path}: cannot read it ({exc})") from exc
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, stored = line.partition(":")
        if not NAME.match(name) or not re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[0-9a-f]{16,}\$[0-9a-f]{32,}", stored):
            raise UsageError(f"{path}:{number}: expected NAME:scrypt$N$R$P$SALT$HASH (write it with `souverain users add`)")
        if name in users:
            raise UsageError(f"{path}:{number}: user {name!r} is given twice")
        users[name] = stored
    if not users:
        raise UsageError(f"--users {path}: the file holds no user (add one with `souverain users add NAME --users {path}`)")
    return users


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UsageError(f"user name {name!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-'")
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UsageError(f"the password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def write_user(path: Path, name: str, password: str | None) -> bool:
    """Add ``name`` (or replace its password) in the users file, made readable by its owner only;
    ``password`` None removes the user. True when the user was already there."""
    check_name(name)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.partition(":")[0].strip() != name]
    existed = len(kept) < len(lines)
    if password is not None:
        kept.append(f"{name}:{hash_password(check_password(password))}")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{line}\n" for line in kept))
    os.chmod(path, 0o600)
    return existed
