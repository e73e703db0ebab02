"""XLSX (ECMA-376 Part 1, SpreadsheetML): the package relationships lead to the workbook, the
workbook lists its sheets in order with a relationship id each, the workbook's relationships give
each sheet's part and the shared-strings part. Cells hold a number, a shared-string index
(``t="s"``), an inline string (``t="inlineStr"``), a formula's cached string (``t="str"``), a
boolean (``t="b"``) or an error (``t="e"``). Elements are matched by local name, so Strict OOXML
(other namespaces) reads the same."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator

from souverain.errors import DataError
from souverain.tabular.cells import Row, RowBuilder, Text, column_index
from souverain.tabular.zipsafe import START, TEXT, Archive, join

_SHEET_TYPES = ("/worksheet",)  # chartsheets and dialogsheets hold no cells


def read(archive: Archive, wanted: str | None, named: Callable[[str], None]) -> Iterator[Row]:
    workbook = _workbook_part(archive)
    base = posixpath.dirname(workbook)
    rels = _relationships(archive, posixpath.join(base, "_rels", posixpath.basename(workbook) + ".rels"), base)
    sheets = [(name, rid) for name, rid in _sheets(archive, workbook)
              if rels.get(rid, ("", ""))[0].endswith(_SHEET_TYPES)]
    if not sheets:
        raise DataError(f"{archive.path}: the workbook has no worksheet")
    if wanted is None:
        name, rid = sheets[0]
    else:
        found = [sheet for sheet in sheets if sheet[0] == wanted]
        if not found:
            raise DataError(f"{archive.path}: no sheet named {wanted!r} (sheets: "
                            f"{', '.join(repr(name) for name, _ in sheets)[:300]})")
        name, rid = found[0]
    named(name)
    strings_part = next((target for kind, target in rels.values() if kind.endswith("/sharedStrings")), None)
    strings = _shared_strings(archive, strings_part) if strings_part and archive.has(strings_part) else []
    yield from _rows(archive, rels[rid][1], f"{archive.path}[{name}]", strings)


def _workbook_part(archive: Archive) -> str:
    if archive.has("_rels/.rels"):
        for kind, target in _relationships(archive, "_rels/.rels", "").values():
            if kind.endswith("/officeDocument") and archive.has(target):
                return target
    if archive.has("xl/workbook.xml"):
        return "xl/workbook.xml"
    raise DataError(f"{archive.path}: no workbook part (an Office file that is not a spreadsheet?)")


def _relationships(archive: Archive, member: str, base: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target member)."""
    if not archive.has(member):
        return {}
    found: dict[str, tuple[str, str]] = {}
    for event, name, attrs in archive.events(member):
        if event == START and name == "Relationship" and attrs.get("TargetMode") != "External":
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), join(base, attrs.get("Target", "")))
            if len(found) > archive.limits.max_members:
                raise DataError(f"{archive.path}[{member}]: too many relationships")
    return found


def _sheets(archive: Archive, workbook: str) -> list[tuple[str, str]]:
    sheets = []
    for event, name, attrs in archive.events(workbook):
        if event == START and name == "sheet":
            sheets.append((attrs.get("name", ""), attrs.get("id", "")))
            if len(sheets) > archive.limits.max_members:
                raise DataError(f"{archive.path}[{workbook}]: too many sheets")
    return sheets


def _shared_strings(archive: Archive, member: str) -> list[str]:
    """Every ``<si>``'s text (its runs joined; phonetic guides ``<rPh>`` left out), bounded in total."""
    strings: list[str] = []
    total, limit = 0, archive.limits.max_shared_chars
    text: Text | None = None
    skip = inside = 0  # depth inside <rPh>; inside a <t>
    for event, name, _ in archive.events(member):
        if event == TEXT:
            if text is not None and inside and not skip:
                text.add(name)
        elif event == START:
            if name == "si":
                text = Text(archive.limits.max_cell)
            elif name == "t":
                inside += 1
            elif name == "rPh":
                skip += 1
        elif name == "t":
            inside -= 1
        elif name == "rPh":
            skip -= 1
        elif name == "si" and text is not None:
            value = text.value()
            total += len(value)
            if total > limit:
                raise DataError(f"{archive.path}[{member}]: more than {limit:,} characters of shared strings")
            strings.append(value)
            text = None
    return strings


def _rows(archive: Archive, member: str, where: str, strings: list[str]) -> Iterator[Row]:
    builder = RowBuilder(where, archive.limits)
    number = column = 0
    kind = ""
    text: Text | None = None
    inline = skip = inside = 0
    for event, name, attrs in archive.events(member):
        if event == TEXT:
            if text is not None and inside and not skip:
                text.add(name)
        elif event == START:
            if name == "c":
                reference = attrs.get("r")
                column = column_index(reference) if reference else column + 1
                kind = attrs.get("t", "n")
            elif name == "v" or name == "t" and inline:
                text = text or Text(archive.limits.max_cell)
                inside += 1
            elif name == "is":
                inline += 1
            elif name == "rPh":
                skip += 1
            elif name == "row":
                given = attrs.get("r", "")
                number = int(given) if given.isdigit() else number + 1
                column = -1
                builder.start()
        elif name == "v" or name == "t" and inline:
            inside -= 1
        elif name == "c":
            if text is not None:
                builder.put(number, column, _value(text.value(), kind, strings, where, number), text.cut)
                text = None
        elif name == "is":
            inline -= 1
        elif name == "rPh":
            skip -= 1
        elif name == "row":
            row = builder.finish(number)
            if row is not None:
                yield row


def _value(raw: str, kind: str, strings: list[str], where: str, number: int) -> str:
    if kind == "s":
        try:
            return strings[int(raw)]
        except (ValueError, IndexError):
            raise DataError(f"{where}:{number}: a cell refers to shared string {raw[:20]!r}, which the file "
                            "does not hold") from None
    if kind == "b":
        return "TRUE" if raw.strip() == "1" else "FALSE"
    return raw
