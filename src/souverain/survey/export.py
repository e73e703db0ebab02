"""Write survey results as JSONL, CSV or Parquet, streaming (bounded memory except for Parquet batches).

CSV and Parquet have one column per input attribute (``attr_<name>``): give ``attributes`` (the
run's, ``SurveyStore.attributes``), since a row does not keep its empty cells and the first rows
alone may lack a column that later ones fill. Parquet columns have fixed types (text, and
booleans for ``*_foreign``), so a column empty in the first batch is not typed "null".
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from souverain.errors import UsageError
from souverain.model.survey import ATTRIBUTE_PREFIX, COLUMNS, SurveyRow
from souverain.report.formulas import safe_cell

SUFFIXES = (".jsonl", ".csv", ".parquet")


def check_output(path: Path) -> None:
    """Refuse an output name this module cannot write, before any work is done."""
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"-o {path}: use a .jsonl, .csv or .parquet file name")


def write_results(rows: Iterable[SurveyRow], path: Path, attributes: Sequence[str] | None = None) -> int:
    """Write ``rows`` to ``path``; ``attributes``: the input's attribute names (default: those of
    the first row for CSV, of the first batch for Parquet)."""
    check_output(path)
    suffix = path.suffix.lower()
    count = 0
    names = None if attributes is None else [f"{ATTRIBUTE_PREFIX}{name}" for name in attributes]
    if suffix == ".jsonl":
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
                count += 1
        return count
    if suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = None
            if names is not None:
                writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, *names], extrasaction="ignore")
                writer.writeheader()
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
            writer = _write_batch(pa, pq, batch, path, writer, names)
            batch = []
    if batch or writer is None:
        writer = _write_batch(pa, pq, batch, path, writer, names)
    writer.close()
    return count


_BOOLEAN = frozenset(f.name for f in dataclasses.fields(SurveyRow) if str(f.type).startswith("bool"))


def _write_batch(pa, pq, batch, path, writer, names):
    if writer is None:
        if names is None:  # the attributes of this first batch, in the order they appear
            names = list(dict.fromkeys(key for record in batch for key in record if key.startswith(ATTRIBUTE_PREFIX)))
        schema = pa.schema([(c, pa.bool_() if c in _BOOLEAN else pa.string()) for c in COLUMNS]
                           + [(name, pa.string()) for name in names])
        writer = pq.ParquetWriter(str(path), schema)
    writer.write_table(pa.Table.from_pylist(batch, schema=writer.schema))
    return writer


