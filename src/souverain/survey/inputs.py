"""Read a population: CSV/TSV, JSONL or a plain list of domains, one target per row.

The domain column is chosen by name (``--domain-column``) or found among common names; the
other columns are kept as group attributes (region, sector, population...). A bad row is
reported with its line number and counted; it never stops the run.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from souverain.attribute.targets import validate_host
from souverain.errors import DataError, UsageError

DOMAIN_COLUMNS = ("domain", "domaine", "website", "site", "url", "host", "hostname", "email_domain")
MAX_FIELD = 10_000


@dataclasses.dataclass
class Target:
    line: int
    domain: str
    attrs: dict[str, str]


@dataclasses.dataclass
class BadRow:
    line: int
    value: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem} ({self.value[:80]!r})"


@dataclasses.dataclass
class Population:
    targets: list[Target]
    bad: list[BadRow]
    duplicates: int


def detect_format(path: Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv", "jsonl", "ndjson"):
        return "jsonl" if suffix == "ndjson" else suffix
    return "list"


def to_domain(value: str) -> str:
    """Accept a bare domain, a URL or an e-mail address; return a validated domain name."""
    text = value.strip()
    if "@" in text and "://" not in text:
        text = text.rsplit("@", 1)[1]
    if "://" in text:
        text = urlsplit(text).hostname or ""
    elif "/" in text:
        text = text.split("/", 1)[0]
    text = text.strip().lower()
    if text.startswith("www."):
        text = text[4:]
    return validate_host(text, value)


def iter_population(path: Path, fmt: str | None = None, domain_column: str | None = None) -> Iterator[Target | BadRow]:
    """Stream targets and bad rows in file order (bounded memory: nothing is kept)."""
    fmt = detect_format(path, fmt)
    try:
        rows = _rows(path, fmt)
        column = None
        first = next(rows, None)
        if fmt != "list":
            columns = list(first[1]) if first and isinstance(first[1], dict) else []
            column = _domain_column(columns, domain_column, path)
        if first is None:
            return
        for line, row, problem in _chain(first, rows):
            if problem:
                yield BadRow(line, str(row), problem)
                continue
            raw = row if column is None else (row.get(column) or "")
            attrs = {} if column is None else {k: str(v) for k, v in row.items() if k != column and v not in (None, "")}
            try:
                yield Target(line, to_domain(str(raw)), attrs)
            except UsageError as exc:
                yield BadRow(line, str(raw), str(exc).split(": ", 1)[-1] if raw else "empty domain")
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _chain(first, rest):
    yield first
    yield from rest


def read_population(path: Path, fmt: str | None = None, domain_column: str | None = None) -> Population:
    """The whole population in memory, de-duplicated (for small inputs and tests)."""
    targets: list[Target] = []
    bad: list[BadRow] = []
    seen: set[str] = set()
    duplicates = 0
    for item in iter_population(path, fmt, domain_column):
        if isinstance(item, BadRow):
            bad.append(item)
        elif item.domain in seen:
            duplicates += 1
        else:
            seen.add(item.domain)
            targets.append(item)
    return Population(targets, bad, duplicates)


def _domain_column(columns: list[str], wanted: str | None, path: Path) -> str:
    if wanted:
        if wanted not in columns:
            raise UsageError(f"--domain-column {wanted!r} is not a column of {path} (columns: {', '.join(columns)})")
        return wanted
    lowered = {c.lower().strip(): c for c in columns}
    for name in DOMAIN_COLUMNS:
        if name in lowered:
            return lowered[name]
    raise UsageError(f"{path}: no domain column found among {', '.join(columns) or '(none)'}; use --domain-column")


def _rows(path: Path, fmt: str) -> Iterator[tuple[int, object, str | None]]:
    """(line number, row, problem) for every data row."""
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield line_no, line.strip(), f"invalid JSON ({exc.msg})"
                    continue
                if isinstance(value, str):
                    value = {"domain": value}
                if not isinstance(value, dict):
                    yield line_no, line.strip(), "expected a JSON object or string"
                    continue
                yield line_no, value, None
        return
    if fmt in ("csv", "tsv"):
        csv.field_size_limit(MAX_FIELD)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter = "\t" if fmt == "tsv" else _sniff(handle)
            reader = csv.DictReader(handle, delimiter=delimiter)
            try:
                for row in reader:
                    if None in row:
                        yield reader.line_num, row, "more fields than the header"
                        continue
                    if not any((v or "").strip() for v in row.values()):
                        continue
                    yield reader.line_num, row, None
            except csv.Error as exc:
                raise DataError(f"{path}:{reader.line_num}: {exc}") from exc
        return
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.split("#", 1)[0].strip()
            if text:
                yield line_no, text, None


def _sniff(handle) -> str:
    sample = handle.read(64 * 1024)
    handle.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
