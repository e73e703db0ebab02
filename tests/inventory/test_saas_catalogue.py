"""The SaaS catalogue inventories are matched against: at least 150 services, each with an operator
and something an inventory can match (a host or an application name), and new vendors found by the
names identity-provider exports give them and by their hosts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb


def test_at_least_150_saas_services_each_matchable() -> None:
    kb = load_kb()
    saas = [s for s in kb.services.values() if s.category == "saas" and not s.deprecated]
    assert all(s.operator in kb.entities for s in saas)
    # container registries are filed as SaaS too; vendors are what a domain or an application name finds
    vendors = [s for s in saas if s.fingerprints.host or s.fingerprints.supplier or s.fingerprints.txt
               or s.fingerprints.cname]
    assert len(vendors) >= 150


def test_new_vendors_by_application_name_and_host(tmp_path: Path) -> None:
    path = tmp_path / "entra.csv"  # Entra ID enterprise applications export: Name, Homepage URL
    path.write_text("Name,Homepage URL\nDropbox Sign,\nSAP Signavio,\nThales SafeNet Trusted Access,\n"
                    "Marketing,https://acme.activehosted.com/\nPlanning,https://app.adaptiveplanning.com/acme\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["inventory", str(path), "--format", "json", "--at", "2026-12-07"])
    assert result.exit_code == 0, result.output
    found = {(d["service"] or {}).get("id"): d for d in json.loads(result.stdout)["dependencies"]}
    assert {"dropbox-sign", "sap-signavio", "thales-safenet-trusted-access", "activecampaign-platform",
            "workday-adaptive-planning"} <= set(found)
    assert found["dropbox-sign"]["operator"]["id"] == "dropbox"
