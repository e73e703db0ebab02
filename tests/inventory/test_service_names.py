"""An application or supplier name in an inventory names one service: no name (compared as
``souverain inventory`` compares them: case and spacing ignored) is claimed by two services, whether
as a ``supplier`` fingerprint or as a service's display name; and the specific record wins over
the generic one for the names that used to overlap."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def test_no_name_is_claimed_by_two_services() -> None:
    claims: dict[str, set[str]] = defaultdict(set)
    for service in load_kb().services.values():
        if service.deprecated:
            continue
        for name in (*service.fingerprints.supplier, service.name):
            claims[_fold(name)].add(service.id)
    shared = {name: sorted(ids) for name, ids in sorted(claims.items()) if len(ids) > 1}
    assert not shared, "names claimed by more than one service: " + "; ".join(
        f"{name!r}: {', '.join(ids)}" for name, ids in shared.items())


def test_specific_services_win_for_the_names_that_overlapped(tmp_path: Path) -> None:
    path = tmp_path / "apps.csv"  # a SaaS register: application, URL
    path.write_text("Application,URL\nFRESHSALES,\nsap  ariba,\nSharePoint Online,\n"
                    "Team site,https://acme.sharepoint.com/sites/finance\nFreshdesk,\nExchange Online,\n"
                    "Office 365,\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["inventory", str(path), "--format", "json", "--at", "2026-12-07"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    line_of = {e["id"]: e["detail"]["line"] for e in report["evidence"]["inventory"]}
    service_at = {line_of[ref]: (dependency["service"] or {}).get("id")
                  for dependency in report["dependencies"] for ref in dependency["evidence"]}
    assert service_at == {2: "freshworks-freshsales", 3: "sap-ariba", 4: "microsoft-sharepoint-online",
                          5: "microsoft-sharepoint-online", 6: "freshworks-freshdesk", 7: "exchange-online",
                          8: "microsoft-365-tenant"}
