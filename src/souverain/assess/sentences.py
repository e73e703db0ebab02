"""The assessment's sentences as messages (``model.assessment.Message``): ids of the report
catalogues with their values, so that reports render them in their language, and their English
text, which the JSON keeps beside them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from souverain.model.assessment import Message
from souverain.report.i18n import Translator
from souverain.report.prose import render

if TYPE_CHECKING:
    from souverain.kb.laws import LawExposure


def message(key: str, **params: Any) -> Message:
    return Message(key, params)


def english(value: Message) -> str:
    return render(value, Translator("en"))


def nested(key: str, **params: Any) -> dict[str, Any]:
    """A message as the value of another message's parameter."""
    return {"key": key, "params": params}


def laws(exposures: Iterable[LawExposure]) -> list[dict[str, str]]:
    """The ``laws`` parameter: each law once, by id with its English name, sorted by that name."""
    found = {e.law.id: e.law.name for e in exposures}
    return [{"id": law_id, "name": name} for law_id, name in sorted(found.items(), key=lambda item: item[1])]
