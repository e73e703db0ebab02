"""Write survey results as JSONL, CSV or Parquet, streaming (bounded memory except for Parquet batches)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from souverain.errors import UsageError
from souverain.model.survey import COLUMNS, SurveyRow
from souverain.report.formulas import safe_cell

SUFFIXES = (".jsonl", ".csv", ".parquet")


def check_output(path: Path) -> None:
    """Refuse an output name this module cannot write, before any work is done."""
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"-o {path}: use a .jsonl, .csv or .parquet file name")


def write_results(rows: Iterable[SurveyRow], path: Path) -> int:
    check_output(path)
    suffix = path.suffix.lower()
    count = 0
    if suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
                count += 1
        return count
    if suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = None
            for row in rows:
                record = row.flat()
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(record), extrasaction="ignore")
                    writer.writeheader()
                writer.writerow({k: safe_cell(v) for k, v in record.items()})
                count += 1
        return count
    # .parquet: the only suffix left
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UsageError("Parquet output needs pyarrow: pip install 'souverain[parquet]'") from exc
    writer = None
    batch: list[dict] = []
    for row in rows:
        batch.append(row.flat())
        count += 1
        if len(batch) >= 10_000:
            writer = _write_batch(pa, pq, batch, path, writer)
            batch = []
    if batch or writer is None:
        writer = _write_batch(pa, pq, batch, path, writer)
    writer.close()
    return count


def _write_batch(pa, pq, batch, path, writer):
    table = pa.Table.from_pylist(batch) if batch else pa.table({c: pa.array([], pa.string()) for c in COLUMNS})
    if writer is None:
        writer = pq.ParquetWriter(str(path), table.schema)
    writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
    return writer


