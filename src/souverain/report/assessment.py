"""Rendering of offer assessments: one offer (terminal), several side by side, and HTML with charts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from souverain.report import terminal
from souverain.report.html import environment
from souverain.report.i18n import DisplayNames, Translator
from souverain.report.prose import localised

if TYPE_CHECKING:
    from rich.table import Table

    from souverain.model.assessment import Assessment, CriterionResult, TechnologyItem


def _seal(value: int | None) -> str:
    return "?" if value is None else f"SEAL-{value}"


def required_text(required: int | Mapping[str, int] | None) -> str:
    """``2`` or ``SOV-2=3, SOV-3=2``, as --min-seal is written (never a Python repr)."""
    if isinstance(required, Mapping):
        return ", ".join(f"{sov}={level}" for sov, level in required.items())
    return str(required)


def headline(result: Assessment, t: Translator, html: bool = False) -> list[str]:
    """The headline lines; ``html``: laws by their short names (the HTML glossary explains them) and
    without the estimate/floor explanation (the HTML report gives it once)."""
    csf = result.csf
    est, floor = csf.estimate, csf.floor
    lines = [t("assess.headline_two", offer=result.offer.name, seal=_seal(est.seal), score=est.score_pct,
               assessor=len(csf.assessor), unknown=len(csf.unknown), floor_seal=_seal(floor.seal),
               floor_score=floor.score_pct, profile=csf.profile.name)]
    if not html:
        lines.append(t("assess.explain"))
    if result.offer.scope:
        lines.append(t("assess.scope", scope=result.offer.scope))
    controller = result.controller
    lines.append(t("assess.controller", provider=result.provider.name, country=result.provider.country,
                   controller=controller.name, controller_country=controller.country))
    foreign = [t.law(law.id, short=html, fallback=law.name) for law in result.laws if law.foreign_access]
    lines.append(t("assess.laws", laws=", ".join(foreign)) if foreign else t("assess.no_laws"))
    lines.extend(technology_lines(result, t, short_laws=html))
    gate = csf.gate
    if gate.required is not None:
        key = "assess.gate_pass_on" if gate.passed else "assess.gate_fail_on"
        lines.append(t(key, required=required_text(gate.required), failing=", ".join(gate.failing) or "-",
                       basis=t(f"assess.basis_{gate.basis}")))
    snc = result.secnumcloud_19_6
    if snc:
        lines.append(t(f"assess.snc_{snc.status}", details="; ".join(snc.failures + snc.unknowns) or "-"))
    for item in csf.contradictions:
        lines.append(t("assess.contradiction", criterion=item.id, name=item.name, claimed=item.claimed,
                       computed=item.label, seal=_seal(item.seal)))
    if csf.unsupported_claims:
        lines.append(t("assess.unsupported", criteria=", ".join(i.id for i in csf.unsupported_claims)))
    return lines


def why(item: CriterionResult) -> str:
    """An assessor answer's rationale, or what was searched for an unknown one."""
    if item.rationale:
        return item.rationale
    if len(item.searched) == 1:  # itself: HTML markup of a quoted search survives
        return item.searched[0]
    return "; ".join(item.searched) if item.searched else ""


def _value(flag: bool | None, t: Translator) -> str:
    return t("value.unknown") if flag is None else t("value.yes" if flag else "value.no")


def _what(item: TechnologyItem) -> str:
    return item.component + (f": {item.product}" if item.product else "")


def technology_lines(result: Assessment, t: Translator, short_laws: bool = False) -> list[str]:
    """One line per technology provider, next to the ownership chain in the headline."""
    if not result.technology:
        return [t("assess.no_technology")]
    lines = []
    for item in result.technology:
        laws = ", ".join(t.law(law.id, short=short_laws, fallback=law.name) for law in item.laws)
        lines.append(t("assess.technology_line", component=_what(item), chain=t.path(item.chain_text),
                       dependency=t(f"technology.{item.dependency}"), updates=_value(item.updates_from_provider, t),
                       keys=_value(item.keys_from_provider, t), support=_value(item.support_from_provider, t),
                       laws=t("assess.technology_laws", laws=laws) if laws else ""))
    return lines


def technology_table(result: Assessment, t: Translator) -> Table:
    return terminal.table(
        [t("assess.provider"), t("assess.component"), t("assess.dependency"), t("assess.roles"), t("field.laws")],
        [(t.path(item.chain_text), _what(item), t(f"technology.{item.dependency}"),
          " / ".join(_value(flag, t) for flag in (item.updates_from_provider, item.keys_from_provider,
                                                   item.support_from_provider)),
          t.laws(law.id for law in item.laws))
         for item in result.technology],
        title=t("assess.technology"),
    )


def assessment_table(result: Assessment, lang: str, names: DisplayNames | None = None, width: int | None = None) -> str:
    t = Translator(lang, names)
    result = localised(result, t)
    csf = result.csf
    objectives = terminal.table(
        [t("assess.objective"), t("assess.weight"), t("assess.seal_estimate"), t("assess.seal_floor"),
         t("assess.points_both"), t("assess.part_both"), t("assess.limiting")],
        [(f"{o.id} {o.name}", f"{o.weight:g} %", _seal(o.seal_estimate), _seal(o.seal_floor),
          f"{o.points_estimate:g} / {o.points_floor:g} / {o.max_points:g}",
          f"{csf.estimate.score_parts.get(o.id, 0):g} / {csf.floor.score_parts.get(o.id, 0):g}",
          ", ".join(o.limiting[:4])) for o in csf.objectives],
        title=t("assess.objectives"),
    )
    derived = terminal.table(
        [t("assess.criterion"), t("assess.answer"), "SEAL", t("assess.source"), t("assess.evidence"), t("assess.claimed")],
        [(f"{c.id} {c.name}", c.label, _seal(c.seal), t.token("answer_source", c.source), c.evidence or "-",
          c.claimed or "")
         for c in csf.criteria if c.source == "derived" or c.contradiction or c.unsupported],
        title=t("assess.derived"),
    )
    laws = terminal.table(
        [t("field.laws"), t("field.country"), t("field.via"), t("field.chain")],
        [(t.law(law.id, short=True, fallback=law.name), t.country(law.country), t.token("via", law.via), t.path(law.path_text))
         for law in result.laws],
    )
    parts = [objectives, derived, laws]
    judged = [c for c in csf.criteria if c.source == "assessor"]
    if judged:
        parts.append(terminal.table(
            [t("assess.criterion"), t("assess.answer"), "SEAL", t("assess.confidence"), t("assess.rationale")],
            [(f"{c.id} {c.name}", c.label, _seal(c.seal), t.token("confidence", c.confidence) if c.confidence else "-", c.rationale or "-") for c in judged],
            title=t("assess.assessor_answers"),
        ))
    if result.technology:
        parts.append(technology_table(result, t))
    snc = result.secnumcloud_19_6
    if snc and snc.holdings:
        parts.append(terminal.table(
            [t("assess.holder"), t("field.country"), t("assess.capital"), t("assess.votes"), t("field.chain")],
            [(h.name, h.country, f"{h.capital_pct:g} %", f"{h.votes_pct:g} %",
              " ; ".join(" <- ".join(p) for p in h.paths)) for h in snc.holdings],
            title=t("assess.holdings"),
        ))
    if csf.unknown:
        parts.append(terminal.key_values([(t("assess.unknown_both"), ", ".join(csf.unknown))]))
    width = width or terminal.terminal_width()
    return terminal.wrap(headline(result, t), width) + "\n" + terminal.render(*parts, width=width)


def comparison_table(results: list[Assessment], lang: str, names: DisplayNames | None = None,
                     width: int | None = None) -> str:
    t = Translator(lang, names)
    results = [localised(r, t) for r in results]
    header = [t("assess.objective")] + [r.offer.name for r in results]
    rows = []
    if any(r.offer.scope for r in results):
        rows.append([t("assess.scope_heading")] + [r.offer.scope or "-" for r in results])
    for index, objective in enumerate(results[0].csf.objectives):
        rows.append([f"{objective.id} {objective.name}"] + [
            f"{_seal(r.csf.objectives[index].seal_estimate)} / {_seal(r.csf.objectives[index].seal_floor)}"
            for r in results])
    rows.append([t("assess.estimate")] + [f"{_seal(r.csf.estimate.seal)} · {r.csf.estimate.score_pct:g} %"
                                           for r in results])
    rows.append([t("assess.assessor")] + [str(len(r.csf.assessor)) for r in results])
    rows.append([t("assess.floor")] + [f"{_seal(r.csf.floor.seal)} · {r.csf.floor.score_pct:g} %" for r in results])
    rows.append([t("field.controller")] + [f"{r.controller.name} ({r.controller.country})" for r in results])
    rows.append([t("assess.technology_providers")] + [
        ", ".join(dict.fromkeys(f"{i.controller.name} ({i.controller.country})" for i in r.technology)) or "-"
        for r in results])
    rows.append([t("field.snc")] + [t.token("test_status", r.secnumcloud_19_6.status) if r.secnumcloud_19_6 else "-"
                                    for r in results])
    rows.append([t("field.foreign_laws")] + [t.laws(law.id for law in r.laws if law.foreign_access) for r in results])
    rows.append([t("assess.unknown_count")] + [str(len(r.csf.unknown)) for r in results])
    rows.append([t("assess.contradictions")] + [str(len(r.csf.contradictions)) for r in results])
    table = terminal.render(terminal.table(header, rows, title=t("assess.comparison")), width=width)
    return terminal.wrap([t("assess.compare_explain")], width or terminal.terminal_width()) + table


# one colour per offer, none of them the red, amber or green that mean exposed / unknown / not exposed
PALETTE = ("#2457a6", "#7d3c98", "#5d6d7e", "#0e7490", "#6b4f1d", "#3f51b5", "#a23b72", "#34495e")


def objective_chart(results: list[Assessment], t: Translator | None = None) -> dict[str, Any]:
    """Grouped horizontal bars: one group per objective, one bar per offer, length = estimated SEAL
    on the 0-4 scale; the legend (one colour per offer) and the scale's ticks go with it."""
    t = t or Translator()
    groups = []
    for index, objective in enumerate(results[0].csf.objectives):
        bars = []
        for ri, result in enumerate(results):
            seal = result.csf.objectives[index].seal_estimate
            bars.append({"name": result.offer.name, "colour": PALETTE[ri % len(PALETTE)],
                         "pct": 100 * (seal or 0) / 4, "value": _seal(seal) if seal is not None else t("value.unknown")})
        groups.append({"label": f"{objective.id} {objective.name}", "bars": bars})
    legend = [{"colour": PALETTE[i % len(PALETTE)], "name": r.offer.name} for i, r in enumerate(results)]
    ticks = [{"value": level, "pct": 25 * level} for level in range(5)]
    return {"groups": groups, "legend": legend, "ticks": ticks}


def offer_state(result: Assessment) -> str:
    """The colour of an offer's verdict follows exposure, not the SEAL: ``exposed`` (red) when a
    foreign law compelling access reaches it, ``partly-exposed`` (amber) when none does but the
    §19.6 test fails or is undetermined, ``not-exposed`` (green) otherwise."""
    if any(law.foreign_access for law in result.laws):
        return "exposed"
    snc = result.secnumcloud_19_6
    return "not-exposed" if snc is None or snc.status == "pass" else "partly-exposed"


def offer_headline(result: Assessment, t: Translator) -> str:
    """The offer's verdict in one sentence."""
    state = offer_state(result)
    laws = ", ".join(t.law(law.id, short=True, fallback=law.name) for law in result.laws if law.foreign_access)
    snc = result.secnumcloud_19_6
    return t(f"html.assess.headline.{state}", offer=result.offer.name, laws=laws, seal=_seal(result.csf.estimate.seal),
             status=t.token("test_status", snc.status) if snc else "-")


def answer_text(item: CriterionResult, t: Translator) -> str:
    """A criterion's answer as a sentence: an unknown one says it is counted at the worst option."""
    key = "html.assess.answer_unknown" if item.source == "unknown" else "html.assess.answer"
    return t(key, option=item.label, seal=_seal(item.seal))


def assessment_html(results: list[Assessment], lang: str, names: DisplayNames | None = None) -> str:
    from souverain.report.glossary import anchor, glossary, shorten_laws
    from souverain.report.sources import SourceList

    t = Translator(lang, names)
    results = [localised(r, t, html=True) for r in results]
    cited = SourceList()
    offers = []
    for r in results:  # numbered in the page's order: technology, criteria, claims, the offer's own
        offers.append({
            "technology": [cited.cite(item.sources) for item in r.technology],
            "criteria": [cited.cite(c.sources) for c in r.csf.criteria],
            "claims": [cited.cite(c.sources) for c in r.claims],
            "own": cited.cite(r.sources),
        })
    laws: list[tuple[str, str, str, str | None]] = [
        (law.id, law.name, law.country, law.effect) for r in results for law in r.laws if law.foreign_access]
    laws += [(law.id, law.name, "", None) for r in results for item in r.technology for law in item.laws]
    return environment().get_template("assessment.html.j2").render(
        t=t, lang=lang, results=results,
        result={"kb_version": results[0].kb_version, "schema_version": results[0].schema_version},
        headlines=[[shorten_laws(line, t) for line in headline(r, t, html=True)] for r in results], sentences=[offer_headline(r, t) for r in results],
        states=[offer_state(r) for r in results], chart=objective_chart(results, t), seal=_seal, why=lambda c: shorten_laws(why(c), t), short=lambda text: shorten_laws(text or "", t),
        answer=lambda c: answer_text(c, t), offers=offers, glossary=glossary(laws, t), sources=cited.items,
        law_anchor=anchor,
    )
