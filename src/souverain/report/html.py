"""Self-contained HTML reports (no CDN, no script needed to read them).

Everything that came from DNS or HTTP is escaped by Jinja2's autoescaping; charts are built here
from numbers only (HTML bars and inline SVG), each with its legend and scale. Laws are explained
once in a glossary (``report/glossary.py``) and the KB sources are numbered once
(``report/sources.py``); base.html.j2 holds the screen and print styles every report shares.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from souverain.report.glossary import anchor, glossary
from souverain.report.i18n import DisplayNames, Translator
from souverain.report.sources import SourceIndex, SourceList, dependency_records, record_citations
from souverain.report.terminal import printable

if TYPE_CHECKING:
    from souverain.model.scan import FunctionSummary, ScanResult

TEMPLATES = Path(__file__).parent / "templates"
# red where a foreign law reaches, amber where it is unknown, green where none does
STATE_COLOURS = {"exposed": "#b03a2e", "unknown": "#d4a017", "not-exposed": "#1e8449", "absent": "#7f8c8d"}
STATES = ("exposed", "unknown", "not-exposed", "absent")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # remote text inside <pre>: a newline in a TXT record would start a line of its own there
    env.filters["printable"] = lambda value: printable("" if value is None else str(value))
    return env


def function_chart(functions: tuple[FunctionSummary, ...], t: Translator, lang: str = "en") -> dict[str, Any]:
    """Horizontal bars, one per function: length = criticality (its weight in the score, on a
    1-5 scale), colour = state; with the legend of the colours that appear and the scale's ticks."""
    from souverain.report.render import function_name

    scale = 5
    rows = [{"label": function_name(item, lang), "state": t(f"state.{item.state}"), "key": item.state,
             "colour": STATE_COLOURS.get(item.state, "#7f8c8d"), "criticality": item.criticality,
             "pct": round(100 * min(item.criticality, scale) / scale, 1)} for item in functions]
    seen = {item.state for item in functions}
    legend = [{"colour": STATE_COLOURS[state], "name": t(f"state.{state}")} for state in STATES if state in seen]
    ticks = [{"value": value, "pct": 100 * value / scale} for value in range(scale + 1)]
    return {"rows": rows, "legend": legend, "ticks": ticks, "scale": scale}


def headline(result: ScanResult, t: Translator) -> str:
    """The verdict in one sentence a manager reads first."""
    from souverain.report.render import function_names

    summary = result.summary
    if summary.nonexistent and len(summary.nonexistent) == len(result.scan.domains):
        return t("verdict.nonexistent", domains=", ".join(summary.nonexistent))
    fnames = function_names(result, t)
    foreign = {law for f in summary.functions for law in f.laws}  # the laws that reach an exposed function
    countries = ", ".join(dict.fromkeys(t.country(law.country) for law in summary.laws if law.id in foreign)) or "?"
    if summary.verdict == "exposed":
        functions = summary.critical_exposed
    elif summary.verdict == "undetermined":
        functions = summary.critical_unknown
    else:
        functions = tuple(f.function for f in summary.functions if f.state == "exposed")
    names = ", ".join(fnames.get(f, f) for f in functions)
    return t(f"html.headline.{summary.verdict}", functions=names, countries=countries)


def scan_html(result: ScanResult, lang: str, names: DisplayNames | None = None,
              sources: SourceIndex | None = None) -> str:
    """``sources``: the KB records' sources (``kb.display.record_sources``), listed and cited
    from each row; without them the report has no source list (nothing else to cite)."""
    from souverain.report.render import (
        alternative_text,
        function_name,
        function_names,
        notice_text,
        rdap_server_text,
        reason_text,
        tier_text,
        verdict_lines,
    )

    t = Translator(lang, names)
    fnames = function_names(result, t)
    evidence = {domain: result.evidence_of(domain) for domain in result.evidence}
    cited = SourceList()
    # numbered in the page's order: the alternatives' table comes before the dependencies'
    alternatives = [(function, alt, record_citations([alt.id], sources, cited))
                    for function, alts in result.summary.alternatives.items() for alt in alts]
    row_sources = [record_citations(dependency_records(d), sources, cited) for d in result.dependencies]
    laws: list[tuple[str, str, str, str | None]] = [(law.id, law.name, law.country, None) for law in result.summary.laws]
    laws += [(law.id, law.name, law.country, law.effect) for d in result.dependencies for law in d.laws
             if law.id in d.foreign_laws]
    laws += [(law_id, law_id, "", None) for _, alt, _ in alternatives for law_id in alt.foreign_laws]
    several = len(result.scan.domains) > 1
    domains: dict[str, list[str]] = {}
    service_domains: dict[tuple[str, str], list[str]] = {}  # (function, service name) -> domains
    for d in result.dependencies:
        if d.domain not in domains.setdefault(d.function, []):
            domains[d.function].append(d.domain)
        if d.service and d.domain not in service_domains.setdefault((d.function, d.service.name), []):
            service_domains[d.function, d.service.name].append(d.domain)
    return environment().get_template("scan.html.j2").render(
        t=t, lang=lang, result=result, summary=result.summary, headline=headline(result, t),
        verdict=verdict_lines(result, t, short_laws=True), chart=function_chart(result.summary.functions, t, lang),
        evidence=evidence, reason=lambda d: reason_text(d, t), tier=lambda d: tier_text(d, t),
        rdap_server=lambda d: rdap_server_text(d, evidence.get(d.domain, {}), t),
        fname=lambda f: function_name(f, lang), notice=lambda n: notice_text(n, t), colours=STATE_COLOURS,
        fid=lambda f: fnames.get(f, f), alternative=lambda alt: alternative_text(alt, t), several=several,
        domains=domains, service_domains=service_domains, row_sources=row_sources, alternatives=alternatives,
        glossary=glossary(laws, t), sources=cited.items, law_anchor=anchor,
    )
