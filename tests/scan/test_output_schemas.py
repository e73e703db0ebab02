"""The JSON outputs of the test world follow the schemas `souverain schema` prints (generated
from the models), and a document that breaks the contract is refused."""

from __future__ import annotations

import copy
import json
import typing

import jsonschema
import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.browser import record_evidence
from souverain.collect.observation import ObservationBuilder
from souverain.collect.page_run import BrowserRequest, BrowserResult
from souverain.collect.proxy import NOT_ADMITTED, Connection
from souverain.model.load import load
from souverain.model.scan import ScanResult
from souverain.model.survey import COLUMNS
from souverain.store.surveys import survey_results
from souverain.testing.httpserver import TestCA, WebServer
from tests.scan.conftest import WORLD

MAIL_AND_DNS = ["m365.test", "m365pp.test", "gworkspace.test", "selfaws.test", "nullmx.test",
                "broken.test", "loop.test", "spfdup.test", "inject.test", "proton.test",
                "hugetxt.test", "nxparent.test"]
OFFERS = ["aws-esc", "bleu-cloud", "s3ns-premi3ns", "ovhcloud-public-cloud-offer", "ovhcloud"]
Validator = jsonschema.Draft202012Validator


def schema(name: str) -> Validator:
    result = CliRunner().invoke(cli, ["schema", name])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Validator.check_schema(document)
    return Validator(document)


def schema_of(validator: Validator, name: str) -> Validator:
    """The validator of one definition of a schema."""
    return Validator({"$ref": f"#/$defs/{name}", "$defs": validator.schema["$defs"]})


@pytest.fixture(scope="module")
def scan_schema() -> Validator:
    return schema("scan")


def scan_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["scan", *args, "--timeout", "0.3", "--at", "2026-11-28",
                                      "--format", "json", "--no-store", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def errors(validator: Validator, document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def test_scan_json_of_the_world_follows_its_schema(world_dns, scan_schema):
    data = scan_json(*MAIL_AND_DNS, "--nameserver", f"127.0.0.1:{world_dns.port}", "--no-web-fetch")
    assert errors(scan_schema, data) == []
    statuses = {d["status"] for d in data["dependencies"]}
    assert statuses == {"identified", "self-managed", "unknown", "none"}
    assert data["notices"] and data["failures"] and data["summary"]["alternatives"]
    # read back whole, as a stored document is
    assert load(ScanResult, data).as_dict() == data


def test_scan_json_with_the_web_follows_its_schema(world_dns, scan_schema):
    ca = TestCA()
    server = WebServer(WORLD / "sites", ca).start()
    try:
        data = scan_json("web.test", "hostile.test", "m365pp.test",
                         "--nameserver", f"127.0.0.1:{world_dns.port}",
                         "--ca-file", str(ca.ca_file),
                         *(f"--connect-to={rule}" for rule in server.connect_to()))
    finally:
        server.stop()
        ca.cleanup()
    assert errors(scan_schema, data) == []
    assert any(e["source"] == "web" for items in data["evidence"].values() for e in items)
    assert any(d["function"] == "web.third_party" for d in data["dependencies"])


def test_browser_evidence_follows_the_schema(scan_schema):
    """What the browser collector records (no Chromium needed: a run's result built by hand)."""
    result = BrowserResult("https://www.x.test/", outcome="ok", browser="Chrome/1", requests=[
        BrowserRequest("http://ads.example/p.gif", "ads.example", "image", status=403),
        BrowserRequest("https://cdn.example/a.js", "cdn.example", "script", "https://www.x.test/",
                       "parser", 200),
    ], connections=[
        Connection("ads.example", 80, "GET", status="refused", error=NOT_ADMITTED),
        Connection("cdn.example", 443, "CONNECT", address="192.0.2.1", status="ok", received=10),
    ])
    obs = ObservationBuilder("x.test", ("web",))
    record_evidence(obs, result)
    evidence = schema_of(scan_schema, "Evidence")
    for item in obs.evidence:
        assert errors(evidence, item.as_dict()) == [], item
    assert {r.outcome for item in obs.evidence for r in item.records} == {"refused", "loaded"}


def test_a_document_that_breaks_the_contract_is_refused(world_dns, scan_schema):
    data = scan_json("m365.test", "--nameserver", f"127.0.0.1:{world_dns.port}", "--no-web-fetch")
    changes = (
        lambda d: d["dependencies"][0].update(status="probably"),
        lambda d: d["dependencies"][0].pop("evidence"),
        lambda d: d["dependencies"][0].update(owner="someone"),
        lambda d: d["summary"].update(verdict="fine"),
        lambda d: d["evidence"]["m365.test"][0]["records"].append({"name": "x", "type": "A"}),
        lambda d: d["scan"].update(domains="m365.test"),
    )
    for change in changes:
        document = copy.deepcopy(data)
        change(document)
        assert errors(scan_schema, document)
    bad = copy.deepcopy(data)
    bad["dependencies"][0]["status"] = "probably"
    with pytest.raises(ValueError):  # pydantic's ValidationError: the reader refuses it too
        load(ScanResult, bad)


def test_assess_json_follows_its_schema(tmp_path):
    validator = schema("assess")
    runner = CliRunner()
    for offer in OFFERS:
        result = runner.invoke(cli, ["assess", offer, "--at", "2026-11-28", "--format", "json",
                                     "--min-seal", "2"])
        assert result.exit_code in (0, 3), result.output
        assert errors(validator, json.loads(result.stdout)) == [], offer
    answers = tmp_path / "answers.yaml"
    answers.write_text(runner.invoke(cli, ["assess", "--template"]).stdout)
    result = runner.invoke(cli, ["assess", "--answers", str(answers), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert errors(validator, data) == []
    data["csf"]["criteria"][0]["source"] = "hearsay"
    assert errors(validator, data)


def test_survey_rows_exported_as_jsonl_follow_their_schema(world_dns, tmp_path):
    validator = schema("survey-row")
    population = tmp_path / "pop.csv"
    population.write_text("domain,region\n"
                          + "".join(f"{d},{i % 3}\n" for i, d in enumerate(MAIL_AND_DNS)))
    out = tmp_path / "rows.jsonl"
    result = CliRunner().invoke(cli, ["survey", str(population), "--nameserver",
                                      f"127.0.0.1:{world_dns.port}", "--timeout", "0.3",
                                      "--db", f"sqlite:///{tmp_path / 's.db'}", "--quiet",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(MAIL_AND_DNS) and {r["status"] for r in rows} == {"ok", "unknown"}
    for row in rows:
        assert errors(validator, row) == [], row["domain"]
    assert errors(validator, dict(rows[0], extra=1))  # input columns come as attr_*, nothing else
    assert errors(validator, dict(rows[0], mail_foreign="yes"))


def test_survey_row_model_and_table_have_the_same_columns():
    stored = [column.name for column in survey_results.columns if column.name != "survey_id"]
    assert set(stored) == {*COLUMNS, "dependencies"}


def test_the_scan_schema_lists_the_functions_the_kb_knows():
    """model.Function and the KB's function ids are one list (a function added to the KB and not
    to the model would make every scan that finds it fail its schema)."""
    from souverain.kb.schema import Function as KBFunction
    from souverain.model.dependency import Function

    assert typing.get_args(Function) == typing.get_args(KBFunction)
