"""Display names of KB records for reports, as plain data (``report.i18n.DisplayNames``):
laws (with short forms and the facts of the reports' glossary), functions and regions, in English
and French; the texts of the frameworks' objectives, criteria (``SOV-1.1``), options
(``SOV-1.1/outside-eu``) and profiles; and the sources of every record (``record_sources``), for the
reports' source lists."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Law, Source


def display_names(kb: KnowledgeBase) -> dict[str, dict[str, dict[str, str]]]:
    def entry(**names: str | None) -> dict[str, str]:
        return {key: value for key, value in names.items() if value}

    return {
        "laws": {law.id: entry(en=law.name, fr=law.name_fr, short_en=law.short_name, short_fr=law.short_name_fr,
                               **_glossary(law)) for law in kb.laws.values()},
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


def _glossary(law: Law) -> dict[str, str | None]:
    """What the HTML reports' glossary says of a law: its country, effect, citation, summary (English;
    ``summary_fr`` when the KB has one) and its first source."""
    source = law.sources[0] if law.sources else None
    return {"country": law.country, "effect": law.effect, "citation": law.citation, "summary_en": law.summary,
            "summary_fr": getattr(law, "summary_fr", None), "url": str(source.url) if source else None,
            "source_title": source.title if source else None}


def source_fields(source: Source) -> dict[str, str]:
    fields = {"url": str(source.url), "title": source.title, "retrieved": source.retrieved.isoformat(),
              "published": source.published.isoformat() if source.published else None,
              "publisher": source.publisher}
    return {key: value for key, value in fields.items() if value}


class RecordSources(Mapping[str, tuple[Mapping[str, str], ...]]):
    """Record id -> its sources (url, title, retrieved, published, publisher), read when asked."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._records = kb.records

    def __getitem__(self, record_id: str) -> tuple[Mapping[str, str], ...]:
        return tuple(source_fields(source) for source in self._records[record_id].sources)

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


def record_sources(kb: KnowledgeBase) -> RecordSources:
    return RecordSources(kb)
