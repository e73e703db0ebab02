"""Find knowledge-base records by text: `souverain kb search` and the web application's search."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase


def search(kb: KnowledgeBase, text: str, kind: str | None = None) -> list[str]:
    """Ids of the records whose id, name, aliases or fingerprints contain ``text`` (case-insensitive),
    sorted; ``kind`` keeps one kind of record."""
    needle = text.lower().strip()
    hits = []
    for rid, record in kb.records.items():
        if kind and kb.kinds[rid] != kind:
            continue
        haystack = [rid, record.name, *getattr(record, "aliases", [])]
        fingerprints = getattr(record, "fingerprints", None)
        if fingerprints is not None:
            haystack += [value for _, value in fingerprints.items()]
        if any(needle in str(value).lower() for value in haystack):
            hits.append(rid)
    return sorted(hits)
