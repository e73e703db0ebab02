"""The laws a report names, each explained once: display name, country, what it does (its effect
and, where the KB has one in the report's language, its summary), citation and source link.
Tables then show the short name, linked to the glossary entry (``#law-<id>``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from souverain.report.i18n import Translator


@dataclasses.dataclass(frozen=True)
class GlossaryEntry:
    id: str
    anchor: str
    name: str
    short: str
    country: str
    effect: str
    citation: str
    summary: str
    url: str | None
    source_title: str | None


def anchor(law_id: str) -> str:
    return f"law-{law_id}"


def glossary(laws: Iterable[tuple[str, str, str, str | None]], t: Translator) -> list[GlossaryEntry]:
    """``laws``: (id, English name, country, effect or None) as the result carries them, in order
    of appearance; each law once. The KB facts come with the display names (``kb.display``)."""
    entries: dict[str, GlossaryEntry] = {}
    for law_id, name, country, effect in laws:
        if law_id in entries:
            continue
        facts = t.names.get("laws", {}).get(law_id, {})
        url = facts.get("url")
        entries[law_id] = GlossaryEntry(
            id=law_id, anchor=anchor(law_id), name=t.law(law_id, fallback=name),
            short=t.law(law_id, short=True, fallback=name), country=t.country(facts.get("country") or country),
            effect=t.token("effect", facts.get("effect") or effect) if (facts.get("effect") or effect) else "",
            citation=facts.get("citation", ""), summary=_named(facts.get(f"summary_{t.lang}", ""), t),
            url=url if url and url.startswith(("https://", "http://")) else None,
            source_title=facts.get("source_title"))
    return sorted(entries.values(), key=lambda e: (e.country, e.name))


def _named(text: str, t: Translator) -> str:
    """A summary's cross-references to other laws ("see us-cloud-act") by their short names."""
    if not text:
        return text
    laws = t.names.get("laws", {})
    return re.sub(r"(?<![\w.-])[a-z]{2}(?:-[a-z0-9]+)+(?![\w-])",
                  lambda m: t.law(m.group(0), short=True) if m.group(0) in laws else m.group(0), text)


def shorten_laws(text: str, t: Translator) -> str:
    """Prose that names laws in full (the assessment layer's derivations and §19.6 details) with
    their short names instead: the glossary gives the full name, once."""
    for law_id, entry in t.names.get("laws", {}).items():
        short = t.law(law_id, short=True)
        for full in {entry.get("en"), entry.get(t.lang)}:
            if full and full != short and full in text:
                text = text.replace(full, short)
    return text
