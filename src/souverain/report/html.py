"""Self-contained HTML reports (no CDN, no script needed to read them).

Everything that came from DNS or HTTP is escaped by Jinja2's autoescaping; charts are inline SVG
built here from numbers only.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from souverain.report.i18n import DisplayNames, Translator
from souverain.report.terminal import printable

if TYPE_CHECKING:
    from souverain.model.scan import FunctionSummary, ScanResult

TEMPLATES = Path(__file__).parent / "templates"
STATE_COLOURS = {"exposed": "#c0392b", "unknown": "#b7950b", "not-exposed": "#1e8449", "absent": "#7f8c8d"}


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
    """Horizontal bars: one per function, length = criticality, colour = state."""
    from souverain.report.render import function_name

    rows = []
    for index, item in enumerate(functions):
        rows.append({
            "y": 10 + index * 28, "width": 60 * item.criticality, "label": function_name(item, lang),
            "state": t(f"state.{item.state}"), "colour": STATE_COLOURS.get(item.state, "#7f8c8d"),
            "criticality": item.criticality,
        })
    return {"rows": rows, "height": 20 + 28 * len(rows)}


def scan_html(result: ScanResult, lang: str, names: DisplayNames | None = None) -> str:
    from souverain.report.render import (
        alternative_text,
        function_name,
        function_names,
        notice_text,
        reason_text,
        tier_text,
        verdict_lines,
    )

    t = Translator(lang, names)
    fnames = function_names(result, t)
    evidence = {domain: result.evidence_of(domain) for domain in result.evidence}
    return environment().get_template("scan.html.j2").render(
        t=t, lang=lang, result=result, summary=result.summary, verdict=verdict_lines(result, t),
        chart=function_chart(result.summary.functions, t, lang), evidence=evidence,
        reason=lambda d: reason_text(d, t), tier=lambda d: tier_text(d, t), fname=lambda f: function_name(f, lang),
        notice=lambda n: notice_text(n, t), colours=STATE_COLOURS, fid=lambda f: fnames.get(f, f),
        alternative=lambda alt: alternative_text(alt, t),
    )
