"""Display names of KB records for reports, as plain data (``report.i18n.DisplayNames``):
laws (with short forms), functions and regions, in English and French."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase


def display_names(kb: KnowledgeBase) -> dict[str, dict[str, dict[str, str]]]:
    def entry(**names: str | None) -> dict[str, str]:
        return {key: value for key, value in names.items() if value}

    return {
        "laws": {law.id: entry(en=law.name, fr=law.name_fr, short_en=law.short_name, short_fr=law.short_name_fr)
                 for law in kb.laws.values()},
        "functions": {info.id: entry(en=info.name, fr=info.name_fr) for info in kb.functions.values()},
        "regions": {region.id: entry(en=region.name, fr=region.name_fr) for region in kb.regions.values()},
    }
