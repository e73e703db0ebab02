"""What an inventory reader yields: one ``Item`` per thing the organisation depends on, with where
it was read; and the limits every reader applies to a file it did not write."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from souverain.errors import DataError

MAX_BYTES = 16 * 1024 ** 3  # JSON and XML inputs stream (jsonstream, sbom_xml): only the file is bounded
MAX_FIELD = 4096  # characters kept of any value read (a name, a URL): the rest is cut
KINDS = ("saas-list", "terraform", "kubernetes", "cyclonedx", "cyclonedx-xml", "spdx", "har")


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """One dependency as an inventory names it, before attribution.

    ``what`` says what it is (``resource``, ``image``, ``component``...); the matching fields
    (``terraform``, ``registry``, ``purl``, ``supplier``, ``kubernetes``, ``urls``, ``hosts``,
    ``names``) are tried in that order against the KB; ``label`` is what a person recognises."""

    kind: str  # the inventory kind (KINDS)
    function: str
    what: str
    label: str
    location: str  # "path:line" or "path#/json/pointer"
    terraform: str | None = None
    registry: str | None = None
    purl: str | None = None
    supplier: str | None = None
    kubernetes: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    region: str | None = None
    local: bool = False  # runs on the machine itself (a Terraform utility provider): no operator


def clip(value: object) -> str:
    """A value read from the file as one bounded line of text."""
    text = "" if value is None else str(value)
    return " ".join(text[:MAX_FIELD].split())


def mapping(value: object) -> dict:
    """``value`` when it is a JSON/YAML object, else an empty one (optional parts of a format)."""
    return value if isinstance(value, dict) else {}


def pointer(*parts: str | int) -> str:
    """An RFC 6901 JSON pointer (``/resources/0/values``)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def check_file(path: Path, max_bytes: int = MAX_BYTES) -> int:
    """The size of ``path`` once it is known to be a readable regular file within ``max_bytes``."""
    try:
        info = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path}: not a regular file")
    if info.st_size > max_bytes:
        raise DataError(f"{path}:1: file too large ({info.st_size:,} bytes; the limit is {max_bytes:,})")
    return info.st_size
