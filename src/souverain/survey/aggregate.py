"""Aggregate a survey: shares reachable by foreign law per function, by group, provider and country.

Shares are computed over domains whose function is known; the unknown count is always shown
next to them (never folded into "not exposed").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from souverain.model.survey import SurveyRow

FUNCTIONS = {"mail": "email.inbound", "dns": "dns.authoritative", "web": "web.hosting", "report": "email.reporting"}
COLUMNS = ("mail", "dns", "web")  # functions with their own columns in the stored row
GROUP_OF = {"report": "mail"}  # the collection group (--functions) a derived function comes from


def function_summary(row: SurveyRow, prefix: str, names: dict[str, str] | None = None) -> dict[str, Any]:
    """status/service/country/foreign of one function of a stored row.

    Key functions have columns; email.reporting is read from the row's dependencies, where
    "none" means no report leaves the domain (no DMARC/TLS-RPT, or reports kept in-house), and
    its service ids are shown by the names in ``names`` (the KB's) when given.
    """
    if prefix in COLUMNS:
        return {key: getattr(row, f"{prefix}_{key}") for key in ("status", "service", "country", "foreign")}
    deps = [d for d in row.dependencies if d.function == FUNCTIONS[prefix]]
    known = [d for d in deps if d.controller]
    if not deps:
        return {"status": "none" if row.status == "ok" else None, "service": None, "country": None,
                "foreign": None}
    return {"status": (known or deps)[0].status,
            "service": "; ".join(sorted({(names or {}).get(d.service, d.service)
                                         for d in known if d.service})) or None,
            "country": ";".join(sorted({d.country for d in known if d.country})) or None,
            "foreign": any(d.laws for d in known) if known else None}


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


class Aggregate:
    def __init__(self, group_by: str | None = None, service_names: dict[str, str] | None = None) -> None:
        self.group_by = group_by
        self.service_names = service_names
        self.total = 0
        self.status: Counter[str] = Counter()
        self.verdicts: Counter[str] = Counter()
        self.by_function: dict[str, Counter] = {f: Counter() for f in FUNCTIONS}
        self.providers: dict[str, Counter] = {f: Counter() for f in FUNCTIONS}
        self.countries: dict[str, Counter] = {f: Counter() for f in FUNCTIONS}
        self.groups: dict[str, dict[str, Counter]] = defaultdict(lambda: {f: Counter() for f in FUNCTIONS})
        self.group_sizes: Counter = Counter()
        self.attributes: set[str] = set()  # every attribute name seen, to check --group-by against

    def add(self, row: SurveyRow) -> None:
        self.total += 1
        self.status[row.status] += 1
        self.verdicts[row.verdict or "unknown"] += 1
        attrs = row.attrs
        self.attributes.update(attrs)
        group = attrs.get(self.group_by) if self.group_by else None
        if group is not None:
            self.group_sizes[group] += 1
        for prefix in FUNCTIONS:
            summary = function_summary(row, prefix, self.service_names)
            foreign = summary["foreign"]
            state = "unknown" if foreign is None else ("foreign" if foreign else "not-foreign")
            if summary["status"] == "none":
                state = "none"
            self.by_function[prefix][state] += 1
            if summary["service"]:
                self.providers[prefix][summary["service"]] += 1
            if summary["country"]:
                self.countries[prefix][summary["country"]] += 1
            if group is not None:
                self.groups[group][prefix][state] += 1

    def feed(self, rows: Iterable[SurveyRow]) -> Aggregate:
        for row in rows:
            self.add(row)
        return self

    def as_dict(self, top: int = 15) -> dict:
        functions = {}
        for prefix, counts in self.by_function.items():
            known = counts["foreign"] + counts["not-foreign"]
            functions[prefix] = {
                "function": FUNCTIONS[prefix], "foreign": counts["foreign"], "not_foreign": counts["not-foreign"],
                "unknown": counts["unknown"], "none": counts["none"],
                "foreign_share_pct": _share(counts["foreign"], known),
                "providers": self.providers[prefix].most_common(top),
                "controller_countries": self.countries[prefix].most_common(top),
            }
        groups = []
        for group, group_counts in sorted(self.groups.items()):
            entry: dict[str, Any] = {"group": group, "domains": self.group_sizes[group]}
            for prefix, c in group_counts.items():
                known = c["foreign"] + c["not-foreign"]
                entry[prefix] = {"foreign_share_pct": _share(c["foreign"], known), "unknown": c["unknown"],
                                 "known": known}
            groups.append(entry)
        return {"domains": self.total, "status": dict(self.status), "verdicts": dict(self.verdicts),
                "functions": functions, "group_by": self.group_by, "groups": groups}


def diff_rows(rows_a: dict[str, SurveyRow], rows_b: dict[str, SurveyRow]) -> list[dict[str, Any]]:
    """Who moved from what to what, per function, between two runs (domains present in both)."""
    moves = []
    for domain in sorted(set(rows_a) & set(rows_b)):
        a, b = rows_a[domain], rows_b[domain]
        for prefix, function in FUNCTIONS.items():
            old, new = function_summary(a, prefix), function_summary(b, prefix)
            before = old["service"] or old["status"] or "-"
            after = new["service"] or new["status"] or "-"
            if before != after:
                moves.append({"domain": domain, "function": function, "before": before, "after": after,
                              "foreign_before": old["foreign"], "foreign_after": new["foreign"]})
    return moves
