"""An entity's owners over time as an inline SVG chart, built server-side from the KB's dated
ownership edges (no script): a row for the ultimate controller, worked out at each date an edge
of the chain above starts or ends, then a row per holding, with a legend and dated axis."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from souverain.kb.ownership import control_chain

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Entity
    from souverain.report.i18n import Translator

PALETTE = ("#1d3557", "#c0392b", "#2a9d8f", "#e9c46a", "#8e44ad", "#d35400", "#457b9d", "#6a994e", "#b5838d",
           "#264653")
SELF = "#9aa5b1"  # the entity controls itself (no controlling owner)
WIDTH, LABEL, ROW, TOP = 760, 190, 26, 8


@dataclasses.dataclass(frozen=True)
class Bar:
    row: int
    start: dt.date
    end: dt.date
    colour: str
    solid: bool  # a controlling holding (a minority one is drawn lighter)
    bounded: bool  # the start is only a "held by" bound (since_before): drawn with a dashed outline
    label: str
    title: str


def controller_segments(kb: KnowledgeBase, entity: Entity, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, str]]:
    """(from, until, controller id) over [start, end), one segment per change of ultimate controller."""
    seen, stack, dates = set(), [entity.id], {start}
    while stack:  # the dates any edge above the entity starts or ends
        current = stack.pop()
        if current in seen or current not in kb.entities:
            continue
        seen.add(current)
        for edge in kb.entities[current].owners:
            dates.update(d for d in (edge.start, edge.until) if d is not None and start < d < end)
            stack.append(edge.owner)
    segments: list[tuple[dt.date, dt.date, str]] = []
    bounds = sorted(dates) + [end]
    for since, until in itertools.pairwise(bounds):
        chain = control_chain(kb, entity.id, since)
        controller = chain[-1].entity.id if chain else entity.id
        if segments and segments[-1][2] == controller:
            segments[-1] = (segments[-1][0], until, controller)
        else:
            segments.append((since, until, controller))
    return segments


def timeline_svg(kb: KnowledgeBase, entity: Entity, at: dt.date, t: Translator) -> Markup | None:
    """None when the KB records no owner for the entity."""
    if not entity.owners:
        return None
    start = min(edge.start for edge in entity.owners)
    end = max([at, *(edge.until for edge in entity.owners if edge.until)])
    start = min(start, end - dt.timedelta(days=365))
    colours: dict[str, str] = {}

    def colour(owner: str) -> str:
        if owner == entity.id:
            return SELF
        return colours.setdefault(owner, PALETTE[len(colours) % len(PALETTE)])

    bars: list[Bar] = []
    for since, until, controller in controller_segments(kb, entity, start, end):
        name = kb.entity_name(controller)
        bars.append(Bar(0, since, until, colour(controller), True, False, name,
                        f"{t('web.timeline.controller')}: {name}, {since} – {until}"))
    edges = sorted(entity.owners, key=lambda e: e.start)
    for row, edge in enumerate(edges, start=1):
        name = kb.entity_name(edge.owner)
        share = f"{edge.capital_pct:g} %" if edge.capital_pct is not None else "? %"
        began = edge.since.isoformat() if edge.since else t("web.timeline.by", date=edge.since_before)
        ended = edge.until.isoformat() if edge.until else t("web.timeline.now")
        bars.append(Bar(row, edge.start, edge.until or end, colour(edge.owner), edge.controls(),
                        edge.since is None, share, f"{name}: {share}, {began} – {ended}"))
    span = max((end - start).days, 1)
    plot = WIDTH - LABEL - 10

    def x(day: dt.date) -> float:
        return round(LABEL + plot * (day - start).days / span, 1)

    rows = len(edges) + 1
    axis_y = TOP + rows * ROW + 4
    legend_y = axis_y + 46
    legend = list(colours.items())
    height = legend_y + 18 * (len(legend) + 3) + 6
    out = [(f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
            f'role="img" aria-labelledby="timeline-title"><title id="timeline-title">'
            f'{escape(t("web.timeline.title", name=entity.name))}</title>')]
    labels = [t("web.timeline.controller"), *(kb.entity_name(e.owner) for e in edges)]
    for row, text in enumerate(labels):
        y = TOP + row * ROW + ROW / 2 + 4
        weight = ' font-weight="700"' if row == 0 else ""
        out.append(f'<text x="4" y="{y}" font-size="12"{weight}>{escape(_clip(text, 28))}</text>')
    for bar in bars:
        x0, x1 = x(bar.start), x(bar.end)
        y = TOP + bar.row * ROW + 3
        dash = ' stroke-dasharray="4 3"' if bar.bounded else ""
        out.append(f'<g class="bar"><title>{escape(bar.title)}</title>'
                   f'<rect x="{x0}" y="{y}" width="{max(x1 - x0, 2)}" height="{ROW - 6}" fill="{bar.colour}" '
                   f'fill-opacity="{1 if bar.solid else 0.45}" stroke="#1b1f23" stroke-width="0.6"{dash}/>')
        if x1 - x0 > 7 * len(bar.label) + 6:
            fill = "#fff" if bar.solid else "#1b1f23"
            out.append(f'<text x="{x0 + 4}" y="{y + ROW - 11}" font-size="11" fill="{fill}">{escape(bar.label)}</text>')
        out.append("</g>")
    out.append(f'<line x1="{LABEL}" y1="{axis_y}" x2="{WIDTH - 10}" y2="{axis_y}" stroke="#5f6b7a"/>')
    for tick in _ticks(start, end):
        out.append(f'<line x1="{x(tick)}" y1="{axis_y}" x2="{x(tick)}" y2="{axis_y + 5}" stroke="#5f6b7a"/>'
                   f'<text x="{x(tick)}" y="{axis_y + 17}" font-size="11" text-anchor="middle">{tick.year}</text>')
    out.append(f'<line x1="{x(at)}" y1="{TOP}" x2="{x(at)}" y2="{axis_y}" stroke="#c0392b" stroke-dasharray="2 2"/>')
    keys = [(c, kb.entity_name(o)) for o, c in legend]
    if any(bar.colour == SELF for bar in bars):
        keys.append((SELF, t("web.timeline.itself", name=entity.name)))
    keys += [("#cfd6de", t("web.timeline.minority")), ("dashed", t("web.timeline.bounded"))]
    for index, (fill, text) in enumerate(keys):
        y = legend_y + index * 18
        box = ('<rect x="{x}" y="{y}" width="14" height="12" fill="#ffffff" stroke="#1b1f23" stroke-dasharray="4 3"/>'
               if fill == "dashed" else '<rect x="{x}" y="{y}" width="14" height="12" fill="' + fill +
               '" stroke="#1b1f23" stroke-width="0.6"/>')
        out.append(box.format(x=LABEL, y=y) + f'<text x="{LABEL + 20}" y="{y + 11}" font-size="12">{escape(text)}</text>')
    out.append(f'<text x="{LABEL}" y="{legend_y - 8}" font-size="11" fill="#5f6b7a">'
               f'{escape(t("web.timeline.span", start=start, end=end, at=at))}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _ticks(start: dt.date, end: dt.date) -> list[dt.date]:
    years = end.year - start.year
    step = 1 if years <= 12 else 2 if years <= 24 else 5 if years <= 60 else 10
    first = start.year + 1
    first += (-first) % step
    return [dt.date(year, 1, 1) for year in range(first, end.year + 1, step)]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
