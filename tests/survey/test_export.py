"""`survey export` keeps every input attribute and writes Parquet columns with fixed types, whatever
the first rows hold."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.model.survey import SurveyRow
from souverain.survey.export import write_results


def _run(tmp_path: Path) -> str:
    population = tmp_path / "pop.jsonl"
    population.write_text('{"domain": "a.test"}\n{"domain": "b.test", "region": "=11"}\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(cli, ["survey", str(population), "--functions", "registry", "--nameserver",
                                      "127.0.0.1:9", "--timeout", "0.2", "--db", db, "--quiet", "--name", "p",
                                      "-o", str(tmp_path / "run.csv")])
    assert result.exit_code == 0, result.output
    return db


def test_an_attribute_the_first_row_lacks_is_exported(tmp_path):
    db = _run(tmp_path)
    for path in (tmp_path / "run.csv", tmp_path / "export.csv"):  # survey run -o, survey export -o
        if path.name == "export.csv":
            assert CliRunner().invoke(cli, ["survey", "export", "p", "--db", db, "-o", str(path)]).exit_code == 0
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [row["attr_region"] for row in rows] == ["", "'=11"]  # kept, and neutralised
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out = tmp_path / "export.parquet"
    assert CliRunner().invoke(cli, ["survey", "export", "p", "--db", db, "-o", str(out)]).exit_code == 0
    assert pq.read_table(out).column("attr_region").to_pylist() == [None, "=11"]


def test_parquet_column_empty_in_the_first_batch(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [SurveyRow(f"a{n}.test", "ok", None, None, None) for n in range(10_000)]
    rows.append(SurveyRow("b.test", "ok", None, "exposed", None, registrar_controller="Example Group",
                          registry_foreign=True, attrs={"region": "84"}))
    out = tmp_path / "rows.parquet"
    assert write_results(iter(rows), out, ["region"]) == 10_001
    table = pq.read_table(out)
    assert table.column("registrar_controller").to_pylist()[-1] == "Example Group"
    assert str(table.schema.field("registry_foreign").type) == "bool"
    assert table.column("attr_region").to_pylist()[-2:] == [None, "84"]
    jsonl = tmp_path / "rows.jsonl"
    write_results(iter(rows[-1:]), jsonl, ["region"])
    assert json.loads(jsonl.read_text())["registrar_controller"] == "Example Group"
