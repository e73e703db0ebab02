"""Survey rows carry registry/registrar columns when the run asked for them: stored, exported
(CSV neutralised, JSONL), and added to a database written before they existed when it is opened."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.model.dependency import Dependency, EntityRef
from souverain.store.surveys import REGISTRATION_FUNCTIONS, summarise_domain
from souverain.testing.httpserver import WebServer

SITES = Path(__file__).parent.parent / "data" / "rdap"
DOMAINS = ["ok.test", "elsewhere.test", "formula.test", "missing.fr", "shop.com"]
NEW_COLUMNS = [f"{prefix}_{key}" for prefix in REGISTRATION_FUNCTIONS.values()
               for key in ("status", "service", "controller", "country", "foreign", "tier")]


@pytest.fixture(scope="module")
def rdap_server():
    with WebServer(SITES) as server:
        yield server


def _survey(server: WebServer, tmp_path: Path, *extra: str, name: str = "regs") -> None:
    population = tmp_path / "pop.csv"
    population.write_text("domain,region\n" + "".join(f"{d},r{i % 2}\n" for i, d in enumerate(DOMAINS)))
    result = CliRunner().invoke(cli, [
        "survey", str(population), "--functions", "registry,registrar", "--rdap-url",
        f"http://127.0.0.1:{server.http_port}/rdap", "--nameserver", "127.0.0.1:9", "--timeout", "0.2",
        "--db", f"sqlite:///{tmp_path / 's.db'}", "--quiet", "--name", name, *extra])
    assert result.exit_code == 0, result.output


def _export(tmp_path: Path, suffix: str) -> Path:
    out = tmp_path / f"rows{suffix}"
    result = CliRunner().invoke(cli, ["survey", "export", "regs", "--db", f"sqlite:///{tmp_path / 's.db'}",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _jsonl(path: Path) -> dict[str, dict]:
    return {row["domain"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_registry_and_registrar_columns_are_stored_and_exported(rdap_server, tmp_path):
    _survey(rdap_server, tmp_path)
    kb = load_kb()
    rows = _jsonl(_export(tmp_path, ".jsonl"))
    assert list(rows) == DOMAINS
    ok, elsewhere, fr, com = rows["ok.test"], rows["elsewhere.test"], rows["missing.fr"], rows["shop.com"]
    # the registrar known by its IANA id: the KB entity, its controller and the laws that reach it
    gandi = next(d for d in ok["dependencies"] if d["function"] == "domain.registrar")
    assert (ok["registrar_status"], ok["registrar_tier"]) == ("identified", "verified")
    assert ok["registrar_service"] == kb.entities["gandi"].name
    assert ok["registrar_country"] == gandi["country"] and ok["registrar_controller"]
    assert ok["registrar_foreign"] is bool(gandi["laws"])
    # a registrar the KB does not know: its RDAP name, tier registered, no controller
    assert (elsewhere["registrar_service"], elsewhere["registrar_tier"]) == ("Example <b>Registrar</b>, Inc.",
                                                                            "registered")
    assert elsewhere["registrar_controller"] is None and elsewhere["registrar_foreign"] is None
    # a failed look-up is unknown; the registry of .fr and .com comes from the KB (offline)
    assert (fr["registrar_status"], fr["registrar_tier"], fr["registrar_service"]) == ("unknown", "unknown", None)
    assert (fr["registry_service"], fr["registry_country"], fr["registry_foreign"], fr["registry_tier"]) == (
        kb.entities["afnic"].name, "FR", False, "verified")
    assert (com["registry_service"], com["registry_country"], com["registry_foreign"]) == (
        kb.entities["verisign"].name, "US", True)
    assert (ok["registry_status"], ok["registry_tier"], ok["registry_service"]) == ("unknown", "unknown", None)
    assert com["foreign_laws"] is None  # the row's laws stay those of the key functions
    assert all(row["mail_status"] is None for row in rows.values())  # not asked for
    with _export(tmp_path, ".csv").open(newline="") as handle:
        table = {row["domain"]: row for row in csv.DictReader(handle)}
    assert set(NEW_COLUMNS) <= set(table["ok.test"])
    assert table["formula.test"]["registrar_service"].startswith("'=HYPERLINK(")  # neutralised
    assert table["shop.com"]["registry_country"] == "US" and table["shop.com"]["attr_region"] == "r0"


def test_a_database_without_the_columns_gains_them_and_resumes(rdap_server, tmp_path):
    _survey(rdap_server, tmp_path)
    with sqlite3.connect(tmp_path / "s.db") as conn:  # as an earlier version left it: two domains not scanned
        conn.execute("DELETE FROM survey_results WHERE domain IN ('missing.fr', 'shop.com')")
        conn.execute("UPDATE surveys SET status = 'interrupted'")
        for column in NEW_COLUMNS:
            conn.execute(f"ALTER TABLE survey_results DROP COLUMN {column}")
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert not {r[1] for r in conn.execute("PRAGMA table_info(survey_results)")} & set(NEW_COLUMNS)
    _survey(rdap_server, tmp_path, "--resume")
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert set(NEW_COLUMNS) <= {r[1] for r in conn.execute("PRAGMA table_info(survey_results)")}
    rows = _jsonl(_export(tmp_path, ".jsonl"))
    assert list(rows) == DOMAINS
    assert rows["ok.test"]["registrar_service"] is None  # stored before the columns: NULL, not an error
    assert rows["ok.test"]["dependencies"]  # ... with its dependencies intact
    assert rows["shop.com"]["registry_country"] == "US" and rows["missing.fr"]["registry_tier"] == "verified"
    with _export(tmp_path, ".csv").open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(DOMAINS)


def test_a_run_without_these_functions_leaves_the_columns_empty():
    verisign = EntityRef("verisign", "VeriSign, Inc.", "US")
    registry = Dependency("a.com", "domain.registry", "identified", "high", reason="registry-tld",
                          subject="com", operator=verisign, controller=verisign, foreign_laws=("us-cloud-act",))
    mail = Dependency("a.com", "email.inbound", "unknown", "low", reason="no-mx", tier="unknown")
    without = summarise_domain("a.com", [mail], None)
    assert all(getattr(without, column) is None for column in NEW_COLUMNS)
    with_registry = summarise_domain("a.com", [mail, registry], None)
    assert (with_registry.registry_service, with_registry.registry_foreign, with_registry.registry_tier) == (
        "VeriSign, Inc.", True, "verified")
    assert with_registry.registrar_status is None and with_registry.foreign_laws is None


def test_reports_and_diffs_name_the_registry_and_the_registrar(rdap_server, tmp_path):
    """The dependencies of these functions have no KB service: providers and moves come from the
    row's columns (before them, a registrar that changed was no move and providers were empty)."""
    kb = load_kb()
    _survey(rdap_server, tmp_path)
    moved = tmp_path / "rdap"
    shutil.copytree(SITES, moved)
    domains = moved / "127.0.0.1" / "rdap" / "domain"
    shutil.copy(domains / "elsewhere.test", domains / "ok.test")  # ok.test changed registrar
    with WebServer(moved) as other:
        _survey(other, tmp_path, name="moved")
    db = f"sqlite:///{tmp_path / 's.db'}"
    report = CliRunner().invoke(cli, ["survey", "report", "regs", "--db", db, "--format", "json"])
    functions = json.loads(report.output)["aggregate"]["functions"]
    assert dict(functions["registry"]["providers"]) == {kb.entities["afnic"].name: 1, kb.entities["verisign"].name: 1}
    assert dict(functions["registrar"]["providers"]) == {kb.entities["gandi"].name: 1,
                                                         "Example <b>Registrar</b>, Inc.": 1,
                                                         '=HYPERLINK("http://evil.invalid","Registrar")': 1}
    assert functions["registry"]["foreign"] == 1 and functions["registry"]["unknown"] == 3  # .test: no registry
    diff = CliRunner().invoke(cli, ["survey", "diff", "regs", "moved", "--db", db, "--format", "json"])
    assert json.loads(diff.output)["moves"] == [
        {"domain": "ok.test", "function": "domain.registrar", "before": kb.entities["gandi"].name,
         "after": "Example <b>Registrar</b>, Inc.", "foreign_before": False, "foreign_after": None}]
    table = CliRunner().invoke(cli, ["survey", "diff", "regs", "moved", "--db", db, "--format", "csv"])
    assert "ok.test,domain.registrar," in table.output


def test_a_batch_mixing_rows_with_and_without_these_columns_is_stored_whole(tmp_path):
    """A batch binds the registration columns only when one of its rows has them (a run that did
    not ask for them writes as before); a row without them in such a batch stores NULL."""
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.inputs import Target

    verisign = EntityRef("verisign", "VeriSign, Inc.", "US")
    registry = Dependency("b.com", "domain.registry", "identified", "high", reason="registry-tld", subject="com",
                          operator=verisign, controller=verisign, foreign_laws=("us-cloud-act",))
    with Store.open(f"sqlite:///{tmp_path / 's.db'}") as store:
        surveys = SurveyStore(store)
        run = surveys.create("mixed", "x", {}, "test", [Target(n, d, {}) for n, d in enumerate(["a.com", "b.com",
                                                                                               "c.com"])])
        failed = summarise_domain("a.com", [], None, status="unknown", reason="TimeoutError")
        assert surveys.write(run, [failed, summarise_domain("b.com", [registry], None)]) == 2
        assert surveys.write(run, [summarise_domain("c.com", [], None)]) == 1
        rows = {row.domain: row for row in surveys.results(run)}
    assert (rows["a.com"].registry_status, rows["b.com"].registry_service, rows["c.com"].registry_tier) == (
        None, "VeriSign, Inc.", None)
