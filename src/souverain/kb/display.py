"""Display names of KB records for reports, as plain data (``report.i18n.DisplayNames``):
laws (with short forms), functions and regions, in English and French; and the texts of the
frameworks' objectives, criteria (``SOV-1.1``), options (``SOV-1.1/outside-eu``) and profiles."""

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
        **framework_texts(kb),
    }


def framework_texts(kb: KnowledgeBase) -> dict[str, dict[str, dict[str, str]]]:
    out: dict[str, dict[str, dict[str, str]]] = {"objectives": {}, "criteria": {}, "options": {}, "profiles": {}}
    for framework in kb.frameworks.values():
        for pid, profile in framework.profiles.items():
            out["profiles"][pid] = {"en": profile.name, **({"fr": profile.name_fr} if profile.name_fr else {})}
        for objective in framework.objectives:
            out["objectives"][objective.id] = {"en": objective.name, **({"fr": objective.name_fr} if objective.name_fr else {})}
            for criterion in objective.criteria:
                out["criteria"][criterion.id] = {"en": criterion.name,
                                                 **({"fr": criterion.name_fr} if criterion.name_fr else {})}
                for option in criterion.options:
                    out["options"][f"{criterion.id}/{option.id}"] = {
                        "en": option.label, **({"fr": option.label_fr} if option.label_fr else {})}
    return out
