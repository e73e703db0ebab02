"""The CLI's contract: data on stdout, exit 0 ok / 2 bad input or invalid KB."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli


@pytest.fixture
def run(mini_kb_dir):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["--kb", str(mini_kb_dir), *args])

    return invoke


def test_validate_ok(run):
    result = run("kb", "validate")
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_validate_reports_problems_exit_2(tmp_path, mini_records):
    from tests.conftest import write_kb

    mini_records["services"]["eusub-mail"]["operator"] = "ghost"
    root = write_kb(tmp_path / "bad", mini_records)
    result = CliRunner().invoke(cli, ["kb", "validate", "--path", str(root)])
    assert result.exit_code == 2
    line = next(l for l in result.output.splitlines() if "ghost" in l)
    path, lineno, field, message = line.split(":", 3)
    assert path.endswith("services/eusub-mail.yaml") and lineno.isdigit()
    assert field.strip() == "operator" and "unknown entity 'ghost'" in message


def test_validate_json(tmp_path, mini_records):
    from tests.conftest import write_kb

    del mini_records["laws"]["us-law"]["sources"]
    root = write_kb(tmp_path / "bad", mini_records)
    result = CliRunner().invoke(cli, ["kb", "validate", "--path", str(root), "--format", "json"])
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert data["valid"] is False and data["problems"][0]["field"] == "sources"


def test_other_commands_fail_cleanly_on_invalid_kb(tmp_path, mini_records):
    from tests.conftest import write_kb

    mini_records["services"]["eusub-mail"]["operator"] = "ghost"
    root = write_kb(tmp_path / "bad", mini_records)
    result = CliRunner().invoke(cli, ["--kb", str(root), "who", "eusub"])
    assert result.exit_code == 2
    assert result.stderr == f"{root.resolve()}/services/eusub-mail.yaml:3: operator: unknown entity 'ghost'\n"


def test_show_list_search_stats(run):
    shown = run("kb", "show", "eusub", "--format", "json")
    assert shown.exit_code == 0 and json.loads(shown.output)["country"] == "DE"
    assert run("kb", "show", "nope").exit_code == 2
    listed = json.loads(run("kb", "list", "--kind", "entities", "--format", "json").output)
    assert {row["id"] for row in listed} == {"usparent", "eusub", "frco", "moving"}
    found = json.loads(run("kb", "search", "protection.example", "--format", "json").output)
    assert [row["id"] for row in found] == ["eusub-mail"]
    stats = json.loads(run("kb", "stats", "--format", "json").output)
    assert stats["records"]["entities"] == 4 and stats["fingerprints"]["mx"] == 1
    assert "Id" in run("kb", "list").output


def test_unknown_format_is_usage_error(run):
    result = run("kb", "list", "--format", "xml")
    assert result.exit_code == 2


def test_who_host_json(run):
    result = run("who", "smtp.mail.protection.example-cloud.com", "--format", "json")
    assert result.exit_code == 0, result.output
    item = json.loads(result.output)["results"][0]
    assert item["service"]["id"] == "eusub-mail"
    assert item["controller"]["id"] == "usparent"
    assert item["laws"][0]["path_text"] == "EU Sub GmbH <- US Parent Inc. (US, 100 %)"
    assert item["match"]["rule"].endswith("fingerprints.mx: mail.protection.example-cloud.com")
    assert item["sources"]


def test_who_unattributable_exit_0(run):
    result = run("who", "www.unknown-host.test")
    assert result.exit_code == 0
    assert "could not be attributed" in result.output
    fr = run("who", "www.unknown-host.test", "--lang", "fr")
    assert "n'a pas pu être attribué" in fr.output


@pytest.mark.parametrize("bad", ["not a host", "bad-.test", "x" * 70 + ".test", "AS99999999999", "ftp://x.test", "localhost"])
def test_who_invalid_target_exit_2(run, bad):
    result = run("who", bad)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:")


def test_who_at_date(run):
    before = json.loads(run("who", "moving", "--at", "2019-06-01", "--format", "json").output)["results"][0]
    after = json.loads(run("who", "moving", "--at", "2021-06-01", "--format", "json").output)["results"][0]
    assert before["controller"]["id"] == "frco" and before["laws"] == []
    assert after["controller"]["id"] == "usparent" and after["laws"][0]["id"] == "us-law"
    assert run("who", "moving", "--at", "yesterday").exit_code == 2


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0
    assert "knowledge base" in result.output and "output schema" in result.output
