"""Surveys asked for ``--functions registry`` or ``registrar`` summarise those functions like the
others: shares, providers, countries, and moves between two runs."""

from __future__ import annotations

from souverain.model.survey import CompactDependency, SurveyRow
from souverain.survey.aggregate import Aggregate, diff_rows, function_summary


def dep(function: str, service: str | None, country: str | None, laws: tuple[str, ...] = ()) -> CompactDependency:
    return CompactDependency(function=function, status="identified" if service else "unknown", confidence="high",
                             tier="verified" if service else "unknown", service=service,
                             controller="ctl" if service else None, country=country, laws=laws, reason="",
                             subject=None)


def row(domain: str, *deps: CompactDependency) -> SurveyRow:
    return SurveyRow(domain=domain, status="ok", reason=None, verdict=None, foreign_laws=None, dependencies=deps)


def test_registry_and_registrar_are_summarised() -> None:
    rows = [row("a.fr", dep("domain.registry", "afnic-registry", "FR"), dep("domain.registrar", "gandi-registrar", "FR")),
            row("b.com", dep("domain.registry", "verisign-registry", "US", ("us-cloud-act",)),
                dep("domain.registrar", None, None))]
    functions = Aggregate(None, {"afnic-registry": "AFNIC"}).feed(rows).as_dict()["functions"]
    assert functions["registry"]["function"] == "domain.registry"
    assert functions["registry"]["foreign"] == 1 and functions["registry"]["not_foreign"] == 1
    assert dict(functions["registry"]["providers"])["AFNIC"] == 1
    assert functions["registrar"]["unknown"] == 1
    assert function_summary(rows[0], "registrar")["service"] == "gandi-registrar"


def test_registrar_moves_between_runs() -> None:
    before = {"a.fr": row("a.fr", dep("domain.registrar", "gandi-registrar", "FR"))}
    after = {"a.fr": row("a.fr", dep("domain.registrar", "godaddy-registrar", "US", ("us-cloud-act",)))}
    moves = diff_rows(before, after)
    assert moves == [{"domain": "a.fr", "function": "domain.registrar", "before": "gandi-registrar",
                      "after": "godaddy-registrar", "foreign_before": False, "foreign_after": True}]
