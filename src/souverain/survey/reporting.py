"""What `survey report --format json` and `survey diff` compute, shared by the CLI and the web
application: the report document of a run, and who moved between two runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from souverain.errors import UsageError
from souverain.survey.aggregate import GROUP_OF, Aggregate, diff_rows
from souverain.survey.session import shown_status
from souverain.survey.sources import survey_sources

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.model.dependency import Tier
    from souverain.store.surveys import SurveyStore


def report_data(surveys: SurveyStore, run_ref: str, kb: KnowledgeBase, group_by: str | None = None,
                min_tier: Tier = "inferred") -> dict[str, Any]:
    """The report document of a run: the run's fields and the aggregate of its results (UsageError
    for an unknown run or a ``group_by`` attribute that no row carries)."""
    run_row = surveys.find(run_ref)
    names = {service.id: service.name for service in kb.services.values()}
    critical = frozenset(rid for rid, kind in kb.kinds.items()
                         if kind == "functions" and getattr(kb.records[rid], "criticality", 1) >= 4)
    law_countries = {law_id: law.country for law_id, law in kb.laws.items()}
    counts = Aggregate(group_by, names, min_tier, critical, law_countries).feed(surveys.results(run_row["id"]))
    if group_by and group_by not in counts.attributes:
        raise UsageError(f"--group-by {group_by!r}: no such attribute in survey {run_row['name']!r} "
                         f"(available: {', '.join(sorted(counts.attributes)) or 'none'})")
    aggregate = counts.as_dict()
    for entry in aggregate["functions"].values():  # names for the reports, in both languages
        info = kb.records.get(entry["function"])
        entry["name"], entry["name_fr"] = getattr(info, "name", None), getattr(info, "name_fr", None)
    surveyed = set(json.loads(run_row["options"]).get("functions", ()))
    aggregate["functions"] = {k: v for k, v in aggregate["functions"].items() if GROUP_OF.get(k, k) in surveyed}
    run_row["status"] = shown_status(run_row, surveys.lease(run_row["id"]))
    return {"run": {k: run_row[k] for k in ("id", "name", "created", "status", "total", "bad_rows", "kb_version")},
            "aggregate": aggregate, "sources": survey_sources(kb, aggregate, run_row)}


def diff_runs(surveys: SurveyStore, run_a: str, run_b: str) -> tuple[dict, dict, list[dict[str, Any]]]:
    """Runs A and B and who moved from what to what between them (domains present in both)."""
    a, b = surveys.find(run_a), surveys.find(run_b)
    rows_a = {r.domain: r for r in surveys.results(a["id"])}
    rows_b = {r.domain: r for r in surveys.results(b["id"])}
    return a, b, diff_rows(rows_a, rows_b)
