"""Aggregate a survey: shares reachable by foreign law per function, by group, provider and country.

Shares are computed over domains whose function is known; the unknown count is always shown
next to them (never folded into "not exposed"). Each function also counts its answers by tier
(what they rest on); with a minimum tier (``--min-confidence``) weaker answers count as unknown
and the verdicts are worked out again from the stored dependencies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from souverain.model.dependency import TIERS, Tier, tier_counts
from souverain.model.survey import CompactDependency, SurveyRow

FUNCTIONS = {"mail": "email.inbound", "dns": "dns.authoritative", "web": "web.hosting", "report": "email.reporting",
             "registry": "domain.registry", "registrar": "domain.registrar"}
COLUMNS = ("mail", "dns", "web")  # functions with their own columns in the stored row
# columns filled when the run asked for the function (their dependencies have no KB service: the
# columns name the registry or registrar); rows stored before these columns are read from dependencies
ASKED_COLUMNS = ("registry", "registrar")
GROUP_OF = {"report": "mail"}  # the collection group (--functions) a derived function comes from


def function_summary(row: SurveyRow, prefix: str, names: dict[str, str] | None = None) -> dict[str, Any]:
    """status/service/country/foreign of one function of a stored row.

    Key functions have columns; email.reporting is read from the row's dependencies, where
    "none" means no report leaves the domain (no DMARC/TLS-RPT, or reports kept in-house), and
    its service ids are shown by the names in ``names`` (the KB's) when given.
    """
    if prefix in COLUMNS or prefix in ASKED_COLUMNS and getattr(row, f"{prefix}_status") is not None:
        found = {key: getattr(row, f"{prefix}_{key}") for key in ("status", "service", "country", "foreign", "tier")}
        if found["tier"] is None and found["status"] is not None:  # stored before tiers existed
            found["tier"] = "unknown" if found["status"] == "unknown" else "verified"
        return found
    deps = [d for d in row.dependencies if d.function == FUNCTIONS[prefix]]
    known = [d for d in deps if d.controller]
    if not deps:
        return {"status": "none" if row.status == "ok" else None, "service": None, "country": None,
                "foreign": None, "tier": "verified" if row.status == "ok" else None}
    return {"status": (known or deps)[0].status,
            "service": "; ".join(sorted({(names or {}).get(d.service, d.service)
                                         for d in known if d.service})) or None,
            "country": ";".join(sorted({d.country for d in known if d.country})) or None,
            "foreign": any(d.laws for d in known) if known else None,
            "tier": max((d.tier for d in known), key=TIERS.index) if known else deps[0].tier}


def compact_verdict(deps: Iterable[CompactDependency], critical: frozenset[str], minimum: Tier) -> str:
    """A domain's verdict from its stored dependencies, answers weaker than ``minimum`` counted as
    unknown (the rules of ``assess.organisation.verdict``)."""
    states: dict[str, str] = {}
    for dep in deps:
        answered = dep.controller is not None and tier_counts(dep.tier, minimum)
        state = "exposed" if answered and dep.laws else (
            "unknown" if dep.status == "unknown" or not answered and dep.controller is not None
            else "not-exposed" if answered else "absent")
        rank = ("absent", "not-exposed", "unknown", "exposed")
        if rank.index(state) > rank.index(states.get(dep.function, "absent")):
            states[dep.function] = state
    critical_states = [state for function, state in states.items() if function in critical]
    if "exposed" in critical_states:
        return "exposed"
    if "exposed" in states.values():
        return "partly-exposed"
    return "undetermined" if "unknown" in critical_states else "not-exposed"


def _share(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


class Aggregate:
    def __init__(self, group_by: str | None = None, service_names: dict[str, str] | None = None,
                 min_tier: Tier = "inferred", critical: frozenset[str] = frozenset(),
                 law_countries: dict[str, str] | None = None) -> None:
        """``critical``: the functions whose state decides a verdict (criticality 4 and more),
        needed to work verdicts out again when ``min_tier`` drops answers; ``law_countries``: law id
        -> country of the law (the KB's), to count the domains each law and country reaches."""
        self.group_by = group_by
        self.service_names = service_names
        self.min_tier = min_tier
        self.critical = critical
        self.law_countries = law_countries or {}
        self.laws: dict[str, Counter] = {f: Counter() for f in FUNCTIONS}  # law id -> domains it reaches
        self.law_country_counts: dict[str, Counter] = {f: Counter() for f in FUNCTIONS}
        self.tiers: dict[str, Counter] = {f: Counter() for f in FUNCTIONS}
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
        verdict: str | None = row.verdict
        if verdict is not None and self.min_tier != "inferred":
            verdict = compact_verdict(row.dependencies, self.critical, self.min_tier)
        self.verdicts[verdict or "unknown"] += 1
        attrs = row.attrs
        self.attributes.update(attrs)
        group = attrs.get(self.group_by) if self.group_by else None
        if group is not None:
            self.group_sizes[group] += 1
        for prefix in FUNCTIONS:
            summary = function_summary(row, prefix, self.service_names)
            tier = summary["tier"]
            if tier is not None:
                self.tiers[prefix][tier] += 1
            foreign = summary["foreign"]
            counted = foreign is None or tier_counts(tier, self.min_tier)
            if not counted:
                foreign = None  # an answer weaker than --min-confidence: unknown
            state = "unknown" if foreign is None else ("foreign" if foreign else "not-foreign")
            if summary["status"] == "none":
                state = "none"
            self.by_function[prefix][state] += 1
            if foreign:
                self._count_laws(row, prefix)
            if summary["service"] and counted:
                self.providers[prefix][summary["service"]] += 1
            if summary["country"] and counted:
                self.countries[prefix][summary["country"]] += 1
            if group is not None:
                self.groups[group][prefix][state] += 1

    def _count_laws(self, row: SurveyRow, prefix: str) -> None:
        """The laws that reach ``prefix`` of one domain, and their countries (each domain once)."""
        laws = {law for d in row.dependencies if d.function == FUNCTIONS[prefix] and d.controller
                and tier_counts(d.tier, self.min_tier) for law in d.laws}
        self.laws[prefix].update(laws)
        self.law_country_counts[prefix].update({self.law_countries.get(law, "") for law in laws} - {""})

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
                "tiers": {tier: self.tiers[prefix][tier] for tier in TIERS},
                "tier_share_pct": {tier: _share(self.tiers[prefix][tier], sum(self.tiers[prefix].values()))
                                   for tier in TIERS},
                "providers": self.providers[prefix].most_common(top),
                "controller_countries": self.countries[prefix].most_common(top),
                "laws": self.laws[prefix].most_common(),
                "law_countries": self.law_country_counts[prefix].most_common(),
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
                "min_confidence": self.min_tier,
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
