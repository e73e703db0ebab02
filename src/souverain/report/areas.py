"""Areas of a survey: the bundled maps, which one fits the group codes, the areas' names in the
report's language, and the choropleth's colour scale (with "no data" apart from 0 %)."""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path

from souverain.report.i18n import Translator

MAPS = Path(__file__).parent / "maps"
FR_REGIONS = Path(__file__).parent / "data" / "fr-regions.json"
# share reached by foreign law -> colour: 0 % green, then amber to red; "no data" is hatched grey
SCALE = ((0.0, "#1e8449"), (25.0, "#f7dc6f"), (50.0, "#f0a030"), (75.0, "#e0652a"), (100.0, "#b03a2e"))
NO_DATA = "#d5d8dc"
PCT = "\u00a0%"  # "67 %" never broken before its sign


def share_text(value: float, lang: str) -> str:
    """72.7 -> "72.7 %" in English, "72,7 %" in French (no-break space before the sign)."""
    text = f"{value:g}"
    return (text.replace(".", ",") if lang == "fr" else text) + PCT


@functools.cache
def load_map(name: str) -> dict:
    return json.loads((MAPS / f"{name}.json").read_text(encoding="utf-8"))


@functools.cache
def fr_region_names() -> dict[str, dict[str, str]]:
    """INSEE COG region code -> {"en": ..., "fr": ...} (data/fr-regions.json)."""
    return json.loads(FR_REGIONS.read_text(encoding="utf-8"))["names"]


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


def area_names(map_name: str | None, t: Translator) -> dict[str, str]:
    """Group code -> "code name" in the report's language: French regions by the COG (English
    exonyms where English has one), departments by their official names (the same in English),
    countries by CLDR; empty without a map."""
    if map_name == "fr-regions":
        names = {code: entry.get(t.lang) or entry["en"] for code, entry in fr_region_names().items()}
    elif map_name == "fr-departements":
        names = {loc["id"]: loc["name"] for loc in load_map("fr-departements")["locations"]}
    elif map_name == "europe":
        return {loc["id"]: f"{t.country(loc['id'])} ({loc['id']})" for loc in load_map("europe")["locations"]}
    else:
        return {}
    return {str(code).upper(): f"{code} {name}" for code, name in names.items()}


def colour(share: float | None) -> str:
    """The scale's colour for a share (``None``: no data)."""
    if share is None:
        return NO_DATA
    if share <= 0:
        return SCALE[0][1]
    return next(fill for bound, fill in SCALE[1:] if share < bound or bound == 100.0)


def legend(t: Translator) -> list[dict]:
    """The scale's swatches, 0 % first, "no data" last (a swatch of its own, hatched)."""
    bounds = [bound for bound, _ in SCALE]
    labels = [f"0{PCT}", f"< {bounds[1]:g}{PCT}"]
    labels += [f"{low:g}–{high:g}{PCT}" for low, high in itertools.pairwise(bounds[1:-1])]
    labels.append(f"≥ {bounds[-2]:g}{PCT}")
    return [{"fill": fill, "label": text, "hatched": False} for (_, fill), text in zip(SCALE, labels)] + \
        [{"fill": NO_DATA, "label": t("survey.no_data"), "hatched": True}]


def choropleth(groups: list[dict], name: str, prefix: str, t: Translator) -> dict:
    """The shapes of map ``name`` filled by the share of ``prefix`` reached in each group; a
    group without a known answer (or absent from the survey) is "no data", never 0 %."""
    shares = {str(g["group"]).upper(): (g[prefix]["foreign_share_pct"] if g[prefix]["known"] else None)
              for g in groups}
    base = load_map("fr-departements" if name.startswith("fr-") else name)
    names = area_names(name, t)
    shapes = []
    for loc in base["locations"]:
        key = str(loc.get("region") if name == "fr-regions" else loc["id"]).upper()
        share = shares.get(key)
        label = names.get(key, loc["name"])
        value = t("survey.no_data") if share is None else share_text(share, t.lang)
        shapes.append({"path": loc["path"], "fill": colour(share), "no_data": share is None,
                       "title": f"{label}: {value}"})
    return {"viewBox": base["viewBox"], "shapes": shapes, "source": base["source"]}
