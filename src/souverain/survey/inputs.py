"""Read a population: CSV/TSV, XLSX/ODS (first or named sheet), JSONL or a plain list of
domains, one target per row.

The domain column is chosen by name (``--domain-column``) or found among common names; the
other columns are kept as group attributes (region, sector, population...). A bad row is
reported with its line number and counted; it never stops the run.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from souverain import tabular
from souverain.attribute.targets import validate_host
from souverain.errors import DataError, UsageError

DOMAIN_COLUMNS = ("domain", "domaine", "website", "site", "url", "host", "hostname", "email_domain")
MAX_FIELD = 64 * 1024  # characters; a longer field is reported and its row skipped
SPREADSHEETS = ("xlsx", "ods")
FORMATS = ("csv", "tsv", *SPREADSHEETS, "jsonl", "list")


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
    if suffix in ("csv", "tsv", "jsonl", "ndjson", *SPREADSHEETS):
        return "jsonl" if suffix == "ndjson" else suffix
    return tabular.sniff(path) or "list"  # a spreadsheet saved without its extension


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
    text = text.removeprefix("www.")
    return validate_host(text, value)


def iter_population(path: Path, fmt: str | None = None, domain_column: str | None = None,
                    sheet: str | None = None) -> Iterator[Target | BadRow]:
    """Stream targets and bad rows in file order (bounded memory: nothing is kept). ``sheet``
    names the sheet of a spreadsheet (default: the first)."""
    fmt = detect_format(path, fmt)
    if fmt in SPREADSHEETS:
        yield from _targets(*_sheet_rows(path, sheet, domain_column))
        return
    if sheet is not None:
        raise UsageError(f"--sheet {sheet!r}: {path} is not a spreadsheet (XLSX or ODS)")
    text_table = fmt in ("csv", "tsv")
    try:
        with path.open(encoding="utf-8-sig" if text_table else "utf-8", newline="" if text_table else None) as handle:
            if text_table:
                table = _Table(handle, "\t" if fmt == "tsv" else _sniff(handle), path)
                column = _domain_column(table.header, domain_column, path)
                rows = table.rows(column)
            else:
                rows = _jsonl_rows(handle) if fmt == "jsonl" else _list_rows(handle)
                first = next(rows, None)
                # the domain column comes from the first valid JSON object: bad lines before it
                # are reported like any bad row, not taken for the header
                while fmt == "jsonl" and first is not None and first[2]:
                    yield BadRow(first[0], str(first[1]), first[2])
                    first = next(rows, None)
                if first is None:
                    return
                column = None
                if fmt == "jsonl":
                    column = _domain_column(list(first[1]) if isinstance(first[1], dict) else [], domain_column, path)
                rows = _chain(first, rows)
            yield from _targets(rows, column)
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _targets(rows: Iterator[tuple[int, object, str | None]], column: str | None) -> Iterator[Target | BadRow]:
    for line, row, problem in rows:
        if problem:
            yield BadRow(line, str(row), problem)
            continue
        raw, attrs = row, {}
        if column is not None and isinstance(row, dict):  # a valid row of a table is a dict
            raw = row.get(column) or ""
            attrs = {k: str(v) for k, v in row.items() if k != column and v not in (None, "")}
        try:
            yield Target(line, to_domain(str(raw)), attrs)
        except UsageError as exc:
            yield BadRow(line, str(raw), str(exc).split(": ", 1)[-1] if raw else "empty domain")


def _sheet_rows(path: Path, sheet: str | None, domain_column: str | None
                ) -> tuple[Iterator[tuple[int, object, str | None]], str | None]:
    """The rows of a spreadsheet as the tables' ``(line, {column: value}, problem)``: the first
    non-empty row is the header; cells right of it are ignored; an over-long cell makes a bad row."""
    reader = tabular.Sheet(path, sheet)
    rows = reader.rows()
    first = next(rows, None)
    if first is None:
        return iter(()), None
    header = first.cells
    column = _domain_column([name for name in header if name], domain_column, path)

    def records() -> Iterator[tuple[int, object, str | None]]:
        for row in rows:
            values = {name: value for name, value in zip(header, row.cells, strict=False) if name}
            if row.problem:
                yield row.number, values.get(column, ""), f"sheet {reader.name!r}: {row.problem}"
            else:
                yield row.number, values, None

    return records(), column


def _chain(first, rest):
    yield first
    yield from rest


def read_population(path: Path, fmt: str | None = None, domain_column: str | None = None,
                    sheet: str | None = None) -> Population:
    """The whole population in memory, de-duplicated (for small inputs and tests)."""
    targets: list[Target] = []
    bad: list[BadRow] = []
    seen: set[str] = set()
    duplicates = 0
    for item in iter_population(path, fmt, domain_column, sheet):
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


def _jsonl_rows(handle) -> Iterator[tuple[int, object, str | None]]:
    """(line number, row, problem) for every non-blank line."""
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


def _list_rows(handle) -> Iterator[tuple[int, object, str | None]]:
    for line_no, line in enumerate(handle, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            yield line_no, text, None


class _Lines:
    """The physical lines of a file with their numbers; the lines of a bad record can be read again."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.read = 0  # lines taken from the file
        self.number = 0  # number of the last line handed out
        self.again: deque[tuple[int, str]] = deque()
        self.record: list[tuple[int, str]] = []  # the lines of the record being parsed

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.again:
            self.number, line = self.again.popleft()
        else:
            line = next(self.handle)
            self.read += 1
            self.number = self.read
        self.record.append((self.number, line))
        return line


class _Table:
    """CSV/TSV records with the line each starts on; a bad record never takes the next rows with it.

    The csv module reads a quoted field across line ends, so one stray quote can swallow every
    following line into a single field. A record spanning several lines is therefore accepted
    only when none of its continuation lines is a valid row on its own; otherwise the record is
    reported at its first line and the reading resumes at the line after it. A field over
    ``MAX_FIELD`` characters is reported and skipped the same way.
    """

    def __init__(self, handle, delimiter: str, path: Path) -> None:
        csv.field_size_limit(MAX_FIELD)
        self.delimiter = delimiter
        self.lines = _Lines(handle)
        self.reader = csv.reader(self.lines, delimiter=delimiter)
        try:
            self.header = next(self.reader, [])
        except csv.Error as exc:
            raise DataError(f"{path}:{self.lines.number}: header: {exc}") from exc

    def rows(self, column: str) -> Iterator[tuple[int, object, str | None]]:
        width, index = len(self.header), self.header.index(column)
        while True:
            self.lines.record = []
            try:
                fields = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                (line, text), *rest = self.lines.record or [(self.lines.number, "")]
                span = (f" (in a quoted field that runs from line {line} to {rest[-1][0]}: unterminated quote?)"
                        if rest else "")
                yield line, text.rstrip("\r\n"), f"{exc}{span}"
                self._read_again(rest)
                continue
            (line, text), *rest = self.lines.record
            if rest and any(self._is_row(part, width, index) for _, part in rest):
                yield line, text.rstrip("\r\n"), (f"unterminated quote: it swallowed lines {rest[0][0]}-{rest[-1][0]}, "
                                                   "which are read again as rows")
                self._read_again(rest)
                continue
            if not any(field.strip() for field in fields):
                continue
            row = dict(zip(self.header, fields, strict=False))  # a short row lacks the last columns
            if len(fields) > width:
                yield line, row, "more fields than the header"
                continue
            yield line, row, None

    def _read_again(self, lines: list[tuple[int, str]]) -> None:
        self.lines.again.extendleft(reversed(lines))
        self.reader = csv.reader(self.lines, delimiter=self.delimiter)

    def _is_row(self, text: str, width: int, index: int) -> bool:
        """Whether one physical line is, by itself, a complete row with a valid domain."""
        try:
            fields = next(csv.reader([text], delimiter=self.delimiter), [])
            return len(fields) == width and bool(to_domain(fields[index]))
        except (csv.Error, UsageError):
            return False


def _sniff(handle) -> str:
    sample = handle.read(64 * 1024)
    handle.seek(0)
    if "\n" in sample:  # whole lines only: a cut line (a very long field) must not mislead the sniffer
        sample = sample[:sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","
