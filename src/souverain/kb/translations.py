"""Framework texts without their French beside them (``label_fr``, ``name_fr``...): the reports show
criteria, answers and objectives in the reader's language, so ``kb validate --strict`` fails on a
framework text that has no translation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel

from souverain.kb.problems import Loc, Problem, format_field, line_of

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase

# English field -> the field that holds its French
PAIRS = {"name": "name_fr", "label": "label_fr", "question": "question_fr", "description": "description_fr",
         "because": "because_fr"}


def untranslated(kb: KnowledgeBase) -> list[Problem]:
    problems = []
    for framework in kb.frameworks.values():
        raw = kb.sources[framework.id]
        for loc, field in _missing(framework, ()):
            where: Loc = (*loc, PAIRS[field])
            problems.append(Problem(raw.shown_path, line_of(raw.lines, (*loc, field)), format_field(where),
                                    f"no French text beside {field!r}"))
    return problems


def _missing(model: BaseModel, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """(location, English field) for each framework text whose ``*_fr`` field is empty, below the
    record itself (its own name is a proper name, shown as it is)."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if loc and name in PAIRS and value and not getattr(model, PAIRS[name], None):
            yield loc, name
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        if isinstance(value, BaseModel):
            yield from _missing(value, (*loc, name))
        for key, item in items:
            if isinstance(item, BaseModel):
                yield from _missing(item, (*loc, name, key))
