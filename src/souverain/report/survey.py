"""Survey reports: terminal tables, and a self-contained HTML page with bar charts and choropleth maps."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from souverain.model.dependency import TIERS
from souverain.report import terminal
from souverain.report.html import environment
from souverain.report.i18n import Translator
from souverain.version import OUTPUT_SCHEMA_VERSION

MAPS = Path(__file__).parent / "maps"
PREFIXES = ("mail", "dns", "web", "report")


@functools.cache
def load_map(name: str) -> dict:
    return json.loads((MAPS / f"{name}.json").read_text(encoding="utf-8"))


def pick_map(groups: list[dict], geo: str, column: str | None = None) -> str | None:
    """Which bundled map fits the group codes (``auto``), or the one asked for.

    French region and department codes overlap ("84" is both), so the column name decides first.
    """
    if geo == "none" or not groups:
        return None
    if geo != "auto":
        return geo
    codes = {str(g["group"]).upper() for g in groups}
    departments = load_map("fr-departements")
    name = (column or "").lower()
    if "region" in name or "région" in name:
        if codes <= set(departments["regions"]):
            return "fr-regions"
    elif "dep" in name or "dép" in name:
        return "fr-departements"
    department_ids = {loc["id"] for loc in departments["locations"]}
    if len(codes & department_ids) >= max(1, len(codes) // 2) and all(len(c) <= 3 for c in codes):
        regions = set(departments["regions"])
        if codes <= regions and not codes <= department_ids:
            return "fr-regions"
        return "fr-departements"
    if codes <= set(departments["regions"]):
        return "fr-regions"
    europe_ids = {loc["id"] for loc in load_map("europe")["locations"]}
    if len(codes & europe_ids) >= max(1, len(codes) // 2):
        return "europe"
    return None


def _colour(share: float | None) -> str:
    if share is None:
        return "#d5d8dc"
    # green (0 %) -> amber -> red (100 %)
    r = int(40 + 2.0 * min(share, 100))
    g = int(150 - 1.1 * min(share, 100))
    return f"#{min(r, 230):02x}{max(g, 40):02x}50"


def choropleth(groups: list[dict], name: str, prefix: str) -> dict:
    shares = {str(g["group"]).upper(): (g[prefix]["foreign_share_pct"] if g[prefix]["known"] else None) for g in groups}
    base = load_map("fr-departements" if name.startswith("fr-") else name)
    shapes = []
    for loc in base["locations"]:
        key = loc.get("region") if name == "fr-regions" else loc["id"]
        share = shares.get(str(key).upper()) if key else None
        label = base.get("regions", {}).get(key, loc["name"]) if name == "fr-regions" else loc["name"]
        shapes.append({"path": loc["path"], "fill": _colour(share),
                       "title": f"{label}: {'n/a' if share is None else f'{share:g} %'}"})
    return {"viewBox": base["viewBox"], "shapes": shapes, "source": base["source"]}


def area_names(map_name: str | None, t: Translator) -> dict[str, str]:
    """Group code -> "code name" for the groups of a map (French regions and departments by their
    official names, countries in the report's language); empty without a map."""
    if map_name in ("fr-regions", "fr-departements"):
        base = load_map("fr-departements")
        names = base["regions"] if map_name == "fr-regions" else {loc["id"]: loc["name"] for loc in base["locations"]}
    elif map_name == "europe":
        names = {loc["id"]: t.country(loc["id"]) for loc in load_map("europe")["locations"]}
    else:
        return {}
    return {str(code).upper(): f"{code} {name}" for code, name in names.items()}


def group_label(group: object, names: dict[str, str]) -> str:
    return names.get(str(group).upper(), str(group))


def label(entry: dict, lang: str) -> str:
    """A function's name in ``lang`` (from the KB, added by the caller), else its id."""
    return (entry.get("name_fr") if lang == "fr" else None) or entry.get("name") or entry["function"]


def tier_rows(agg: dict, lang: str) -> list[tuple[str, ...]]:
    """Per function: how many answers of each tier, and their share of the function's answers."""
    return [(label(f, lang), *(f"{f['tiers'][tier]} ({f['tier_share_pct'][tier]:g} %)" for tier in TIERS))
            for f in agg["functions"].values()]


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


def headline(data: dict, t: Translator) -> str:
    agg = data["aggregate"]
    shares = ", ".join(f"{label(f, t.lang)} {f['foreign_share_pct']:g} %" for f in agg["functions"].values())
    return t("survey.headline", name=data["run"]["name"], domains=agg["domains"], shares=shares)


def survey_table(data: dict, lang: str, width: int | None = None) -> str:
    t = Translator(lang)
    agg = data["aggregate"]
    lines = [headline(data, t)]
    parts = [terminal.table(
        [t("field.function"), t("survey.foreign"), t("survey.not_foreign"), t("state.unknown"), t("survey.share")],
        [(label(f, lang), f["foreign"], f["not_foreign"], f["unknown"], f"{f['foreign_share_pct']:g} %")
         for f in agg["functions"].values()])]
    surveyed = [p for p in PREFIXES if p in agg["functions"]]
    lines += tier_lines(agg, t)
    parts.append(terminal.table([t("field.function"), *(t(f"tier.{tier}") for tier in TIERS)],
                                tier_rows(agg, lang), title=t("survey.by_tier")))
    for prefix in surveyed:
        providers = agg["functions"][prefix]["providers"]
        if providers:
            parts.append(terminal.table([f"{label(agg['functions'][prefix], lang)}: {t('field.services')}", t("field.count")],
                                        providers))
    if agg["groups"]:
        areas = area_names(pick_map(agg["groups"], "auto", agg["group_by"]), t)
        parts.append(terminal.table(
            [agg["group_by"], t("survey.domains")]
            + [f"{label(agg['functions'][p], lang)}: {t('survey.share')}" for p in surveyed],
            [(group_label(g["group"], areas), g["domains"], *(f"{g[p]['foreign_share_pct']:g} % ({t('survey.unknown_count', count=g[p]['unknown'])})"
                                          for p in surveyed))
             for g in agg["groups"]]))
    width = width or terminal.terminal_width()
    return terminal.wrap(lines, width) + terminal.render(*parts, width=width)


def survey_html(data: dict, lang: str, geo: str = "auto") -> str:
    t = Translator(lang)
    agg = data["aggregate"]
    map_name = pick_map(agg["groups"], geo, agg["group_by"]) if agg["group_by"] else None
    surveyed = [p for p in PREFIXES if p in agg["functions"]]
    maps = {prefix: choropleth(agg["groups"], map_name, prefix) for prefix in surveyed} if map_name else {}
    bars = []
    for index, prefix in enumerate(surveyed):
        f = agg["functions"][prefix]
        total = max(f["foreign"] + f["not_foreign"] + f["unknown"], 1)
        bars.append({"y": 6 + index * 52, "label": label(f, lang), "foreign": 600 * f["foreign"] / total,
                     "not_foreign": 600 * f["not_foreign"] / total, "unknown": 600 * f["unknown"] / total,
                     "share": f["foreign_share_pct"]})
    return environment().get_template("survey.html.j2").render(
        t=t, lang=lang, data=data, agg=agg, result={"kb_version": data["run"]["kb_version"], "schema_version": OUTPUT_SCHEMA_VERSION},
        bars=bars, maps=maps, map_name=map_name, tiers=TIERS, tier_lines=tier_lines(agg, t), label=lambda entry: label(entry, lang),
        group=lambda code: group_label(code, area_names(map_name, t)), headline=headline(data, t), surveyed=surveyed,
    )
