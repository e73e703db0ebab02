"""Survey reports: terminal tables, and a self-contained HTML page (a verdict in one sentence, bar
charts and choropleth maps with their legends and scales, the sources the figures rest on)."""

from __future__ import annotations

import datetime as dt

from souverain.model.dependency import TIERS
from souverain.report import terminal
from souverain.report.areas import PCT, area_names, choropleth, colour, legend, pick_map, share_text
from souverain.report.html import environment
from souverain.report.i18n import DisplayNames, Translator
from souverain.version import OUTPUT_SCHEMA_VERSION

PREFIXES = ("mail", "dns", "web", "report")
STATES = (("foreign", "#c0392b", "survey.foreign"), ("not_foreign", "#1e8449", "survey.not_foreign"),
          ("unknown", "#b7950b", "state.unknown"), ("none", "#aab2bd", "survey.none"))


def label(entry: dict, lang: str) -> str:
    """A function's name in ``lang`` (from the KB, added by the caller), else its id."""
    return (entry.get("name_fr") if lang == "fr" else None) or entry.get("name") or entry["function"]


def number(value: int, lang: str) -> str:
    """1234 -> "1,234" in English, "1 234" (narrow no-break space) in French."""
    text = f"{value:,}"
    return text.replace(",", "\u202f") if lang == "fr" else text


def percent(part: int, whole: int) -> str:
    """A share for a sentence: whole percents, "< 1 %" rather than a misleading 0 %."""
    if not whole or not part:
        return f"0{PCT}"
    share = 100 * part / whole
    return f"< 1{PCT}" if share < 1 else f"{round(share)}{PCT}"


def readable_date(stamp: str, t: Translator) -> str:
    """An ISO timestamp in words, in the report's language ("7 December 2026, 18:39 UTC")."""
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    months = t("date.months").split()
    day = t("date.day_one") if when.day == 1 else when.day  # "1er décembre"
    return t("date.long", day=day, month=months[when.month - 1], year=when.year, time=f"{when:%H:%M}")


def total(entry: dict) -> int:
    return entry["foreign"] + entry["not_foreign"] + entry["unknown"] + entry.get("none", 0)


def function_sentence(entry: dict, t: Translator) -> str:
    """One function's result in one sentence, shares of every domain surveyed (unknown shown)."""
    whole = total(entry)
    countries = entry.get("law_countries") or []
    laws = " (" + ", ".join(t("survey.count_of", name=t.country(code), count=count) for code, count in countries) \
        + ")" if countries else ""
    none = t("survey.verdict_none", share=percent(entry["none"], whole)) if entry.get("none") else ""
    return t("survey.verdict", function=label(entry, t.lang), domains=number(whole, t.lang),
             foreign=percent(entry["foreign"], whole), not_foreign=percent(entry["not_foreign"], whole),
             unknown=percent(entry["unknown"], whole), laws=laws, none=none)


def countries_text(pairs: list, t: Translator) -> str:
    """[("US", 4), ("FR", 3)] -> "United States: 4 · France: 3" in the report's language."""
    return " · ".join(t("survey.count_of", name=t.country(code), count=count) for code, count in pairs)


def surveyed(agg: dict) -> list[str]:
    return [p for p in PREFIXES if p in agg["functions"]]


def verdict(agg: dict, t: Translator) -> dict:
    """The verdict: the first surveyed function's sentence (mail when surveyed), then the others';
    its colour: green when no domain is reached and none is unknown, red when at least half of
    the domains have the first function reached, amber otherwise."""
    functions = [agg["functions"][p] for p in surveyed(agg)]
    lines = [function_sentence(entry, t) for entry in functions]
    if not functions:
        return {"lines": lines, "css": "v-undetermined", "state": "undetermined"}
    first = functions[0]
    if all(entry["foreign"] == 0 and entry["unknown"] == 0 for entry in functions):
        state = "not-exposed"
    elif total(first) and 2 * first["foreign"] >= total(first):
        state = "exposed"
    else:
        state = "undetermined"
    return {"lines": lines, "css": f"v-{state}", "state": state}


def group_cell(cell: dict, t: Translator) -> str:
    """A group's share for one function: "no data" when no answer is known (never "0.0 %")."""
    if not cell["known"]:
        return t("survey.no_data")
    text = share_text(cell["foreign_share_pct"], t.lang)
    return f"{text} ({t('survey.unknown_count', count=cell['unknown'])})" if cell["unknown"] else text


def tier_cells(entry: dict, t: Translator) -> list[str]:
    """A function's answers of each tier with their share; "no data" when it has no answer."""
    if not sum(entry["tiers"].values()):
        return [t("survey.no_data")] * len(TIERS)
    return [f"{entry['tiers'][tier]} ({share_text(entry['tier_share_pct'][tier], t.lang)})" for tier in TIERS]


def tier_rows(agg: dict, t: Translator) -> list[tuple[str, ...]]:
    """Per function: how many answers of each tier, and their share of the function's answers."""
    return [(label(f, t.lang), *tier_cells(f, t)) for f in agg["functions"].values()]


def tier_lines(agg: dict, t: Translator) -> list[str]:
    """How many answers rest on registration only, and which tiers count (--min-confidence)."""
    from souverain.report.render import tier_names

    lines = []
    registered = sum(f["tiers"]["registered"] for f in agg["functions"].values())
    if registered and agg["min_confidence"] != "verified":
        lines.append(t("verdict.registered_only", count=registered))
    if agg["min_confidence"] != "inferred":
        lines.append(t("survey.tier_filter", tiers=tier_names(agg["min_confidence"], t)))
    return lines


def survey_table(data: dict, lang: str, width: int | None = None) -> str:
    t = Translator(lang)
    agg = data["aggregate"]
    created = data["run"].get("created")
    title = f"{data['run']['name']} · {readable_date(created, t)}" if created else str(data["run"]["name"])
    lines = [title, *verdict(agg, t)["lines"]]
    parts = [terminal.table(
        [t("field.function"), t("survey.foreign"), t("survey.not_foreign"), t("state.unknown"), t("survey.share")],
        [(label(f, lang), f["foreign"], f["not_foreign"], f["unknown"],
          share_text(f["foreign_share_pct"], lang) if f["foreign"] + f["not_foreign"] else t("survey.no_data"))
         for f in agg["functions"].values()])]
    lines += tier_lines(agg, t)
    parts.append(terminal.table([t("field.function"), *(t(f"tier.{tier}") for tier in TIERS)],
                                tier_rows(agg, t), title=t("survey.by_tier")))
    for prefix in surveyed(agg):
        providers = agg["functions"][prefix]["providers"]
        if providers:
            parts.append(terminal.table([f"{label(agg['functions'][prefix], lang)}: {t('field.services')}", t("field.count")],
                                        providers))
    if agg["groups"]:
        areas = area_names(pick_map(agg["groups"], "auto", agg["group_by"]), t)
        parts.append(terminal.table(
            [agg["group_by"], t("survey.domains")]
            + [f"{label(agg['functions'][p], lang)}: {t('survey.share')}" for p in surveyed(agg)],
            [(areas.get(str(g["group"]).upper(), str(g["group"])), g["domains"],
              *(group_cell(g[p], t) for p in surveyed(agg))) for g in agg["groups"]]))
    width = width or terminal.terminal_width()
    return terminal.wrap(lines, width) + terminal.render(*parts, width=width)


def bars(agg: dict, t: Translator) -> list[dict]:
    """One stacked bar per function: segments in % of every domain surveyed."""
    rows = []
    for prefix in surveyed(agg):
        entry = agg["functions"][prefix]
        whole = max(total(entry), 1)
        segments = [{"width": round(100 * entry.get(key, 0) / whole, 2), "fill": fill, "label": t(text),
                     "count": entry.get(key, 0)} for key, fill, text in STATES if entry.get(key, 0)]
        known = entry["foreign"] + entry["not_foreign"]
        rows.append({"label": label(entry, t.lang), "segments": segments,
                     "share": percent(entry["foreign"], total(entry)) if known else t("survey.no_data")})
    return rows


def sources_view(sources: dict, t: Translator) -> dict:
    """The sources section: KB records with their links (laws by their display names)."""
    records = []
    for record in sources.get("records", ()):
        name = t.law(record["id"], fallback=record["name"]) if record["kind"] == "laws" else record["name"]
        records.append({**record, "shown": name, "kind_name": t.token("kind", record["kind"])})
    return {"input": sources.get("input") or "", "kb_version": sources.get("kb_version") or "",
            "ip_table": sources.get("ip_table") or [], "records": records}


def survey_html(data: dict, lang: str, geo: str = "auto", names: DisplayNames | None = None) -> str:
    t = Translator(lang, names)
    agg = data["aggregate"]
    map_name = pick_map(agg["groups"], geo, agg["group_by"]) if agg["group_by"] else None
    prefixes = surveyed(agg)
    maps = {prefix: choropleth(agg["groups"], map_name, prefix, t) for prefix in prefixes} if map_name else {}
    areas = area_names(map_name, t)
    run = data["run"]
    return environment().get_template("survey.html.j2").render(
        t=t, lang=lang, data=data, run=run, agg=agg, date=readable_date(run["created"], t),
        result={"kb_version": run["kb_version"], "schema_version": OUTPUT_SCHEMA_VERSION},
        verdict=verdict(agg, t), bars=bars(agg, t), states=STATES, maps=maps, legend=legend(t), tiers=TIERS,
        tier_lines=tier_lines(agg, t), tier_cells=lambda entry: tier_cells(entry, t), label=lambda entry: label(entry, lang), surveyed=prefixes,
        group=lambda code: areas.get(str(code).upper(), str(code)), cell=lambda c: group_cell(c, t),
        colour=lambda c: colour(c["foreign_share_pct"] if c["known"] else None), number=lambda n: number(n, lang),
        sources=sources_view(data.get("sources") or {}, t), countries=lambda pairs: countries_text(pairs, t),
    )


def diff_html(run_a: dict, run_b: dict, moves: list[dict], lang: str, names: DisplayNames | None = None) -> str:
    """``survey diff --format html``: who moved from what to what between two runs."""
    t = Translator(lang, names)
    return environment().get_template("survey_diff.html.j2").render(
        t=t, lang=lang, run_a=run_a, run_b=run_b, moves=moves,
        date_a=readable_date(str(run_a["created"]), t), date_b=readable_date(str(run_b["created"]), t),
        result={"kb_version": run_b.get("kb_version", ""), "schema_version": OUTPUT_SCHEMA_VERSION},
    )
