"""Read a JSON inventory (Terraform, CycloneDX, SPDX, HAR) safely: bounded memory (the big arrays
streamed, ``jsonstream``), UTF-8, errors as ``path:line: problem``; nesting the parser cannot
follow is an error, not a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from souverain.errors import DataError
from souverain.inventory import items as limits
from souverain.inventory.jsonstream import JSONStream, Key, StreamedJSON

MAX_DEPTH = 64  # how deep readers follow nested modules and components
ARRAY = (list, JSONStream)  # what a reader accepts where a format has an array


def read_json(path: Path, streams: tuple[Key, ...] = (), keep: tuple[Key, ...] = (), max_bytes: int | None = None
              ) -> Any:
    """The document of ``path``: the arrays at ``streams`` as ``JSONStream``, the parts at
    ``keep`` whole, everything else left out (with neither, the whole document)."""
    limits.check_file(path, max_bytes or limits.MAX_BYTES)
    if not streams and not keep:
        keep = ((),)
    return StreamedJSON(path, streams, keep).document()


def expect(value: Any, kind: type | tuple[type, ...], path: Path, where: str, what: str) -> Any:
    """``value`` when it has the JSON type a format documents, else DataError naming the pointer."""
    if not isinstance(value, kind):
        raise DataError(f"{path}#{where or '/'}: {what}")
    return value
