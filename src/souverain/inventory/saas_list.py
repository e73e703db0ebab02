"""A SaaS or vendor list kept as CSV, XLSX or ODS (a spreadsheet or a register of processing):
one application per row, with its name, its vendor, its domain or URL and its category.

Columns are found by name among common spellings (English and French), or named with
``--name-column``, ``--vendor-column``, ``--domain-column`` and ``--category-column``; every other
column is ignored. The
file is read row by row (bounded memory); a row with nothing to match on is still listed. Of a
spreadsheet, the first sheet is read (or ``--sheet``), its first non-empty row being the header.
"""

from __future__ import annotations

import csv
import dataclasses
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from souverain import tabular
from souverain.errors import DataError, UsageError
from souverain.inventory.items import Item, check_file, clip

# identity-provider exports read as SaaS lists: Microsoft Entra ID enterprise applications ("Name",
# "Homepage URL"), Google Workspace third-party app access ("Name" or "App name"), Okta ("Label")
NAME_COLUMNS = ("name", "application", "app", "app name", "application name", "display name", "label", "service",
                "product", "software", "nom", "logiciel", "outil")
VENDOR_COLUMNS = ("vendor", "supplier", "provider", "publisher", "editor", "company", "fournisseur", "éditeur",
                  "editeur", "prestataire")
DOMAIN_COLUMNS = ("domain", "url", "website", "homepage", "homepage url", "site", "host", "domaine", "adresse",
                  "login url", "sign-on url", "sign on url")
CATEGORY_COLUMNS = ("category", "type", "catégorie", "categorie")


@dataclasses.dataclass(frozen=True)
class Columns:
    """Column names chosen on the command line (None: found by name), and the sheet of a spreadsheet."""

    name: str | None = None
    vendor: str | None = None
    domain: str | None = None
    sheet: str | None = None
    category: str | None = None


def read(path: Path, columns: Columns = Columns()) -> Iterator[Item]:
    check_file(path, 1 << 40)  # streamed row by row
    if tabular.sniff(path):
        yield from _read_sheet(path, columns)
        return
    if columns.sheet is not None:
        raise UsageError(f"--sheet {columns.sheet!r}: {path} is not a spreadsheet (XLSX or ODS)")
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    with handle:
        try:
            sample = handle.read(64 * 1024)
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}:{_line_of_byte(path, exc.start)}: not UTF-8 text ({exc.reason})") from exc
        handle.seek(0)
        dialect = _dialect(sample)
        reader = csv.reader(handle, dialect)
        try:
            header = [clip(cell) for cell in next(reader, [])]
            if not any(header):
                raise DataError(f"{path}:1: empty file: a header row is expected")
            name, vendor, domain, category = _columns(header, columns, f"{path}:1", path)
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                yield _item(str(path), line, row, name, vendor, domain, category)
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}:{reader.line_num + 1}: not UTF-8 text ({exc.reason})") from exc


def _read_sheet(path: Path, columns: Columns) -> Iterator[Item]:
    """The rows of a spreadsheet's sheet; items cite ``file[sheet]:row``."""
    sheet = tabular.Sheet(path, columns.sheet)
    rows = sheet.rows()
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}[{sheet.name}]: empty sheet: a header row is expected")
    where = f"{path}[{sheet.name}]"
    header = [clip(cell) for cell in first.cells]
    name, vendor, domain, category = _columns(header, columns, f"{where}:{first.number}", path)
    for row in rows:  # over-long cells are cut by the reader, then by clip(): the row stays usable
        yield _item(where, row.number, row.cells, name, vendor, domain, category)


def _columns(header: list[str], columns: Columns, where: str, path: Path
             ) -> tuple[int | None, int | None, int | None, int | None]:
    name = _column(header, columns.name, NAME_COLUMNS, path, "--name-column")
    vendor = _column(header, columns.vendor, VENDOR_COLUMNS, path, "--vendor-column")
    domain = _column(header, columns.domain, DOMAIN_COLUMNS, path, "--domain-column")
    category = _column(header, columns.category, CATEGORY_COLUMNS, path, "--category-column")
    if name is None and vendor is None and domain is None:
        raise DataError(f"{where}: no name, vendor or domain column among {', '.join(header)[:300]}; "
                        "use --name-column, --vendor-column or --domain-column")
    return name, vendor, domain, category


def _item(path: str, line: int, row: list[str], name: int | None, vendor: int | None, domain: int | None,
          category: int | None) -> Item:
    def cell(index: int | None) -> str:
        return clip(row[index]) if index is not None and index < len(row) else ""

    app, company, address = cell(name), cell(vendor), cell(domain)
    urls: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    if address:
        url = address if "://" in address else f"https://{address}"
        try:
            host = urllib.parse.urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        urls, hosts = ((url,), (host,)) if host else ((), ())
    label = app or company or address
    kind = cell(category)
    return Item("saas-list", "saas", "application", f"{label} [{kind}]" if kind else label, f"{path}:{line}",
                urls=urls, hosts=hosts, supplier=company or None, names=tuple(n for n in (app, company) if n))


def _column(header: list[str], wanted: str | None, names: tuple[str, ...], path: Path, option: str) -> int | None:
    lowered = [cell.lower().strip() for cell in header]
    if wanted:
        if wanted.lower().strip() not in lowered:
            raise UsageError(f"{option} {wanted!r} is not a column of {path} (columns: {', '.join(header)[:300]})")
        return lowered.index(wanted.lower().strip())
    return next((lowered.index(name) for name in names if name in lowered), None)


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    first = sample.split("\n", 1)[0]
    for delimiter in (";", "\t"):
        if first.count(delimiter) > first.count(","):
            return _Semicolon if delimiter == ";" else csv.excel_tab
    return csv.excel


def _line_of_byte(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset + 3).count(b"\n", 0, offset) + 1  # +3: a BOM before the sample


class _Semicolon(csv.excel):
    delimiter = ";"
