"""Minimal XLSX and ODS files written from the formats' documentation (ECMA-376 Part 1 §18 and
OpenDocument 1.3 Part 3 §9.1), for tests of every reader of spreadsheets: no office suite and no
third-party writer is needed. Cells are written as inline strings (XLSX) or text paragraphs (ODS)
unless a test passes raw XML."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from souverain.tabular.cells import column_name

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')


def sheet_xml(rows: Sequence[Sequence[str | None]], shared: dict[str, int] | None = None) -> str:
    """A worksheet part; with ``shared``, strings go to the shared-string table instead of inline."""
    out = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><sheetData>']
    for number, row in enumerate(rows, start=1):
        out.append(f'<row r="{number}">')
        for index, value in enumerate(row):
            if value is None:
                continue
            ref = f"{column_name(index)}{number}"
            if shared is not None:
                position = shared.setdefault(value, len(shared))
                out.append(f'<c r="{ref}" t="s"><v>{position}</v></c>')
            else:
                out.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out)


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[str | None]] | str], *,
               shared_strings: bool = False) -> Path:
    """An XLSX with ``sheets`` in order (name → rows, or name → the raw XML of the worksheet)."""
    shared: dict[str, int] | None = {} if shared_strings else None
    parts: dict[str, str] = {}
    sheet_entries, rels = [], []
    for number, (name, rows) in enumerate(sheets.items(), start=1):
        parts[f"xl/worksheets/sheet{number}.xml"] = rows if isinstance(rows, str) else sheet_xml(rows, shared)
        sheet_entries.append(f'<sheet name={quoteattr(name)} sheetId="{number}" r:id="rId{number}"/>')
        rels.append(f'<Relationship Id="rId{number}" Type="{_REL}/worksheet" Target="worksheets/sheet{number}.xml"/>')
    if shared is not None:
        items = "".join(f"<si><t>{escape(text)}</t></si>" for text in shared)
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{_MAIN}" count="{len(shared)}">{items}</sst>'
        rels.append(f'<Relationship Id="rIdS" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _TYPES)
        archive.writestr("_rels/.rels", f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
                                        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
                                            f'{"".join(sheet_entries)}</sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{_PKG_REL}">{"".join(rels)}'
                                                       "</Relationships>")
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')


def table_xml(name: str, rows: Sequence[Sequence[str | None]]) -> str:
    out = [f"<table:table table:name={quoteattr(name)}>"]
    for row in rows:
        out.append("<table:table-row>")
        for value in row:
            if value is None:
                out.append("<table:table-cell/>")
            else:
                out.append(f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
                           "</table:table-cell>")
        out.append("</table:table-row>")
    out.append("</table:table>")
    return "".join(out)


def write_ods(path: Path, sheets: dict[str, Sequence[Sequence[str | None]]] | None = None, *,
              tables: str | None = None, mimetype: str = "application/vnd.oasis.opendocument.spreadsheet") -> Path:
    """An ODS with ``sheets`` in order, or with the raw ``tables`` XML inside office:spreadsheet."""
    body = tables if tables is not None else "".join(table_xml(name, rows) for name, rows in (sheets or {}).items())
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.3">'
               f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
               "</office:document-content>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)  # first and stored (§3.3)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml",
                         '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                         'manifest:version="1.3"><manifest:file-entry manifest:full-path="/" '
                         f'manifest:media-type="{mimetype}"/></manifest:manifest>')
    return path
