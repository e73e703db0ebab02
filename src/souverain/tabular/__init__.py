"""Spreadsheets read as rows of text: the first (or a named) sheet of an XLSX (ECMA-376
SpreadsheetML) or ODS (OpenDocument) file, streamed with bounded memory.

``sniff`` tells a spreadsheet from its first bytes; ``read_rows`` yields ``Row(number, cells, problem)``
with the sheet's own row numbers, so errors and evidence can cite ``file[sheet]:row``. Files from
elsewhere are hostile until read: the ZIP container and every XML member are bounded
(``zipsafe``), and XML with a DTD is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from souverain.errors import DataError
from souverain.tabular import ods, xlsx
from souverain.tabular.cells import Row
from souverain.tabular.zipsafe import Limits, open_zip

__all__ = ["Limits", "Row", "Sheet", "read_rows", "sniff"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and any password-protected Office file


def sniff(path: Path) -> str | None:
    """``"xlsx"`` or ``"ods"`` for a spreadsheet, None for anything else (text included)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    if head.startswith(_OLE):
        raise DataError(f"{path}: a legacy .xls or password-protected Office file: save it as XLSX, ODS or CSV")
    if not head.startswith(b"PK\x03\x04"):
        return None
    with open_zip(path, Limits()) as archive:
        return archive.kind()


class Sheet:
    """The rows of one sheet; ``name`` is known once the first row has been read."""

    def __init__(self, path: Path, sheet: str | None = None, limits: Limits | None = None) -> None:
        self.path, self.wanted, self.limits = path, sheet, limits or Limits()
        self.name = sheet or ""

    def rows(self) -> Iterator[Row]:
        with open_zip(self.path, self.limits) as archive:
            kind = archive.kind()
            if kind == "xlsx":
                yield from xlsx.read(archive, self.wanted, self._named)
            elif kind == "ods":
                yield from ods.read(archive, self.wanted, self._named)
            else:
                raise DataError(f"{self.path}: a ZIP archive but not a spreadsheet (no xl/workbook.xml, no "
                                "OpenDocument spreadsheet mimetype)")

    def _named(self, name: str) -> None:
        self.name = name


def read_rows(path: Path, sheet: str | None = None, limits: Limits | None = None) -> Iterator[Row]:
    """``(row number, cells, problem)`` of the first sheet of ``path``, or of the sheet named ``sheet``."""
    return Sheet(path, sheet, limits).rows()
