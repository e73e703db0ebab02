"""The loaded knowledge base: records by id, and the derived indexes built from them."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from souverain.errors import KBValidationError
from souverain.kb.loader import DATA_DIR, RawRecord, load_records
from souverain.kb.schema import (
    Alternative,
    Assessment,
    Entity,
    Framework,
    FunctionInfo,
    Law,
    Record,
    Region,
    Service,
)
from souverain.kb.view import KBView

R = TypeVar("R", bound=Record)

if TYPE_CHECKING:  # kb.indexes imports this module
    from souverain.kb.indexes import Indexes

SCHEMA_VERSION = "1"  # version of the record format (kb/schema.py)
MAX_VIEWS = 64  # dates whose views a KB keeps (the oldest view is dropped past that)


class KnowledgeBase:
    def __init__(self, raw: list[RawRecord], digest: str, root: Path) -> None:
        self.root = root
        self.digest = digest
        self.records: dict[str, Record] = {}
        self.kinds: dict[str, str] = {}
        self.sources: dict[str, RawRecord] = {}
        for item in raw:
            if item.record is not None and item.record.id not in self.records:
                self.records[item.record.id] = item.record
                self.kinds[item.record.id] = item.kind
                self.sources[item.record.id] = item
        self.entities: dict[str, Entity] = self._of("entities", Entity)
        self.services: dict[str, Service] = self._of("services", Service)
        self.laws: dict[str, Law] = self._of("laws", Law)
        self.alternatives: dict[str, Alternative] = self._of("alternatives", Alternative)
        self.regions: dict[str, Region] = self._of("regions", Region)
        self.frameworks: dict[str, Framework] = self._of("frameworks", Framework)
        self.assessments: dict[str, Assessment] = self._of("assessments", Assessment)
        self.functions: dict[str, FunctionInfo] = self._of("functions", FunctionInfo)
        self.views: dict[dt.date, KBView] = {}  # kb.at(date), kept for reuse

    def __copy__(self) -> KnowledgeBase:
        """A shallow copy (to add a record, e.g. an offer's inline provider) gets views of its own:
        a view answers for the KB it was made from."""
        clone = object.__new__(KnowledgeBase)
        clone.__dict__.update(self.__dict__)
        clone.views = {}
        return clone

    def at(self, date: dt.date) -> KBView:
        """The KB at ``date``: ownership and laws worked out once per entity (kb/view.py)."""
        view = self.views.get(date)
        if view is None:
            if len(self.views) >= MAX_VIEWS:
                del self.views[next(iter(self.views))]
            view = self.views[date] = KBView(self, date)
        return view

    def _of(self, kind: str, model: type[R]) -> dict[str, R]:
        # a record of a kind is always of its model (the loader validated it): isinstance narrows
        return {rid: rec for rid, rec in self.records.items() if self.kinds[rid] == kind and isinstance(rec, model)}

    @property
    def version(self) -> str:
        """Newest ``as_of`` plus a content hash: changes whenever any record changes."""
        newest = max((r.as_of for r in self.records.values()), default=None)
        return f"{newest.isoformat() if newest else 'empty'}+{self.digest[:10]}"

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def region(self, region_id: str) -> frozenset[str]:
        region = self.regions.get(region_id)
        return frozenset(region.members) if region else frozenset()

    def entity_name(self, entity_id: str) -> str:
        entity = self.entities.get(entity_id)
        return entity.name if entity else entity_id

    @functools.cached_property
    def indexes(self) -> Indexes:
        from souverain.kb.indexes import Indexes

        return Indexes.build(self)


_default_root: Path = DATA_DIR


def use_kb(root: Path | None) -> None:
    """Make ``root`` the KB that ``load_kb()`` returns (the CLI's ``--kb`` option)."""
    global _default_root
    _default_root = Path(root) if root else DATA_DIR


def load_kb(root: str | Path | None = None, *, validate: bool = True) -> KnowledgeBase:
    """Load and validate the KB; raise KBValidationError listing every problem."""
    root = Path(root) if root else _default_root
    if validate:
        return _cached(root.resolve())
    return _load(root, validate)


def _load(root: Path, validate: bool) -> KnowledgeBase:
    result = load_records(root)
    kb = KnowledgeBase(result.records, result.digest, root)
    if validate:
        from souverain.kb.validate import cross_check

        problems = result.problems + cross_check(kb, result.records)
        if problems:
            raise KBValidationError(sorted(problems))
    return kb


@functools.lru_cache(maxsize=4)
def _cached(root: Path) -> KnowledgeBase:
    return _load(root, True)
