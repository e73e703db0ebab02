"""Numbered sources of an HTML report: the KB records' sources behind each row (scan) or answer
(assessment), each listed once, in order of first citation, and cited by number from the rows.

The scan result names the KB records it rests on (services, entities of the ownership chain,
alternatives) but not their sources: the caller passes them as plain data (``SourceIndex``, from
``kb.display.record_sources``), as it passes display names; the report layer does not read the KB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from souverain.model.assessment import Source
    from souverain.model.dependency import Dependency

# record id -> its sources, each {url, title, retrieved[, published, publisher]}
SourceIndex = Mapping[str, Sequence[Mapping[str, str]]]


@dataclasses.dataclass(frozen=True)
class Cited:
    number: int
    url: str
    title: str
    retrieved: str
    published: str | None = None
    publisher: str | None = None


class SourceList:
    """Sources numbered on first citation; a URL cited twice keeps its first number."""

    def __init__(self) -> None:
        self._by_url: dict[str, Cited] = {}

    def cite(self, sources: Iterable[Mapping[str, str] | Source]) -> list[Cited]:
        """The numbers of ``sources`` (dicts or model ``Source``), numbering the new ones; only
        http(s) links are kept (a report never links to another scheme)."""
        cited = []
        for source in sources:
            fields = source if isinstance(source, Mapping) else _fields(source)
            url = str(fields.get("url") or "")
            if not url.startswith(("https://", "http://")):
                continue
            if url not in self._by_url:
                self._by_url[url] = Cited(len(self._by_url) + 1, url, str(fields.get("title") or url),
                                          str(fields.get("retrieved") or ""), fields.get("published") or None,
                                          fields.get("publisher") or None)
            item = self._by_url[url]
            if item not in cited:
                cited.append(item)
        return cited

    @property
    def items(self) -> list[Cited]:
        return list(self._by_url.values())


def _fields(source: Source) -> dict[str, str]:
    return {"url": source.url, "title": source.title, "retrieved": source.retrieved.isoformat(),
            "published": source.published.isoformat() if source.published else "",
            "publisher": source.publisher or ""}


def dependency_records(dep: Dependency) -> list[str]:
    """The KB records a dependency rests on: its service and the entities of its ownership chain
    (operator to controller), and the network operator's behind a transit or colocation."""
    ids = [dep.service.id] if dep.service else []
    ids += [entry.id for entry in dep.chain]
    ids += [ref.id for ref in (dep.operator, dep.controller) if ref]
    if dep.infrastructure:
        ids += [dep.infrastructure.service.id, dep.infrastructure.operator.id, dep.infrastructure.controller.id]
    return list(dict.fromkeys(ids))


def record_citations(records: Iterable[str], index: SourceIndex | None, sources: SourceList) -> list[Cited]:
    if not index:
        return []
    found: list[Mapping[str, str]] = []
    for record in records:
        if record in index:
            found += index[record]
    return sources.cite(found)
