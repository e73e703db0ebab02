"""Read a JSON inventory (Terraform, CycloneDX, SPDX, HAR) safely: bounded size, UTF-8, errors as
``path:line: problem``; nesting the parser cannot follow is an error, not a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from souverain.errors import DataError
from souverain.inventory import items as limits

MAX_DEPTH = 64  # how deep readers follow nested modules and components


def read_json(path: Path, max_bytes: int | None = None) -> Any:
    max_bytes = max_bytes or limits.MAX_BYTES
    limits.check_file(path, max_bytes)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise DataError(f"{path}:1: file too large (more than {max_bytes:,} bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:  # the C parser stops at the interpreter's recursion limit
        raise DataError(f"{path}:1: nested too deep to be an inventory") from exc


def expect(value: Any, kind: type | tuple[type, ...], path: Path, where: str, what: str) -> Any:
    """``value`` when it has the JSON type a format documents, else DataError naming the pointer."""
    if not isinstance(value, kind):
        raise DataError(f"{path}#{where or '/'}: {what}")
    return value
