"""SaaS lists and identity-provider exports saved as XLSX or ODS read like their CSV: the first
sheet or ``--sheet``, items citing ``file[sheet]:row``; bad spreadsheets exit 2 naming the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.testing.spreadsheets import write_ods, write_xlsx

DATA = Path(__file__).parents[1] / "data" / "inventory"


def csv_rows(name: str) -> list[list[str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def invoke(*args: str):
    return CliRunner().invoke(cli, ["inventory", *args, "--org", "acme", "--at", "2026-12-01", "--format", "json"])


def dependencies(result) -> dict:
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return {((d["service"] or {}).get("id") or d["subject"]): d for d in doc["dependencies"]}, doc


@pytest.mark.parametrize("writer", [write_xlsx, write_ods])
def test_spreadsheet_reads_like_its_csv(writer, tmp_path: Path) -> None:
    rows = csv_rows("saas.csv")
    path = writer(tmp_path / ("apps.xlsx" if writer is write_xlsx else "apps.ods"),
                  {"Notes": [["nothing here"]], "Apps": rows})
    from_csv, _ = dependencies(invoke(str(DATA / "saas.csv")))
    from_sheet, doc = dependencies(invoke(str(path), "--sheet", "Apps"))
    assert sorted(from_sheet) == sorted(from_csv)
    hubspot = from_sheet["hubspot-crm"]
    subject = next(e for e in doc["evidence"]["acme"] if e["id"] == hubspot["evidence"][0])["subject"]
    assert subject.endswith(f"{path.name}[Apps]:3")


def test_identity_provider_export_as_xlsx_without_extension(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export", {"Sheet1": csv_rows("entra-enterprise-apps.csv")}, shared_strings=True)
    deps, _ = dependencies(invoke(str(path)))  # told from its content: a ZIP holding xl/workbook.xml
    assert deps["zendesk-widget"]["status"] == "identified"
    assert deps["Internal HR portal"]["status"] == "unknown"


def one_line_error(*args: str) -> str:
    result = CliRunner().invoke(cli, ["inventory", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output.strip()


def test_bad_spreadsheets_exit_2_naming_file_and_sheet(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "a.xlsx", {"Apps": [["name", "domain"], ["x", "x.example"]]})
    assert "no sheet named 'Other' (sheets: 'Apps')" in one_line_error(str(good), "--sheet", "Other")
    headless = write_ods(tmp_path / "h.ods", {"T": [["foo", "bar"], ["1", "2"]]})
    assert f"{headless}[T]:1: no name, vendor or domain column" in one_line_error(str(headless))
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:200])
    assert f"{cut}: not a readable spreadsheet" in one_line_error(str(cut))
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert "legacy .xls" in one_line_error(str(legacy))
    text = tmp_path / "a.csv"
    text.write_text("name,domain\nx,x.example\n", encoding="utf-8")
    assert "is not a spreadsheet" in one_line_error(str(text), "--sheet", "Apps")
