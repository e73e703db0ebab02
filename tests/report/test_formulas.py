"""No CSV souverain writes starts a spreadsheet formula: the helper, and each writer (scan and
inventory CSV, survey export, survey diff)."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.model.survey import SurveyRow
from souverain.report.formulas import TRIGGERS, safe_cell
from souverain.store.database import Store
from souverain.store.surveys import SurveyStore
from souverain.survey import reporting
from souverain.survey.export import write_results
from souverain.survey.inputs import Target

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=1",
           "\uff1d1+1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_starts_get_an_apostrophe(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-3", "+1.5", "2e10", "example.fr", "", "a=b", 42, None, True])
def test_numbers_text_and_non_text_are_kept(value: object) -> None:
    assert safe_cell(value) == value


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_survey_export_csv(tmp_path) -> None:
    row = SurveyRow(domain="a.fr", status="unknown", reason="@reason", verdict=None, foreign_laws=None,
                    mail_service="=cmd()", attrs={"note": "+danger", "count": "-3"})
    path = tmp_path / "out.csv"
    assert write_results([row], path) == 1
    found = cells(path.read_text(encoding="utf-8"))
    assert "'=cmd()" in found and "'@reason" in found and "'+danger" in found and "-3" in found
    assert not [cell for cell in found if cell.startswith(TRIGGERS) and cell != "-3"]


def test_survey_diff_csv(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(db) as store:
        surveys = SurveyStore(store)
        for name in ("first", "second"):
            surveys.create(name, "pop.csv", {}, "kb", [Target(1, "a.fr", {})])
    monkeypatch.setattr(reporting, "diff_rows", lambda a, b: [
        {"domain": "a.fr", "function": "mail", "before": "=evil()", "after": "@x", "foreign_before": None,
         "foreign_after": True}])
    result = CliRunner().invoke(cli, ["survey", "diff", "first", "second", "--db", db, "--format", "csv"])
    assert result.exit_code == 0, result.output
    found = cells(result.stdout)
    assert "'=evil()" in found and "'@x" in found
    assert not [cell for cell in found if cell.startswith(TRIGGERS)]


def test_scan_csv_neutralises_tab_and_full_width(tmp_path) -> None:
    path = tmp_path / "apps.csv"
    path.write_text('name,domain\n"\uff1dcmd()",x.example\n"@risk",y.example\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["inventory", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    found = cells(result.stdout)
    assert any(cell.startswith("'\uff1dcmd()") for cell in found) and any(cell.startswith("'@risk") for cell in found)
    assert not [cell for cell in found if cell.startswith(TRIGGERS)]
