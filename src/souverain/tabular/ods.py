"""ODS (OpenDocument 1.2/1.3, part 1 §9.1): ``content.xml`` holds ``table:table`` elements in
order, each with ``table:table-row`` (``table:number-rows-repeated``) of ``table:table-cell`` or
``table:covered-table-cell`` (``table:number-columns-repeated``). A cell's value is its typed
``office:value`` / ``office:date-value`` / ``office:boolean-value`` / ``office:time-value``, or for
text its paragraphs (``text:s`` spaces, ``text:tab``, ``text:line-break``); annotations are not
the cell's text. Repeated empty rows and cells (trailing blanks of a sheet) are never expanded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from souverain.errors import DataError
from souverain.tabular.cells import Row, RowBuilder, Text
from souverain.tabular.zipsafe import START, TEXT, Archive

_VALUE_ATTRS = {"float": "value", "percentage": "value", "currency": "value", "date": "date-value",
                "time": "time-value", "boolean": "boolean-value"}
_CELLS = ("table-cell", "covered-table-cell")


def read(archive: Archive, wanted: str | None, named: Callable[[str], None]) -> Iterator[Row]:
    limits = archive.limits
    seen: list[str] = []
    depth = 0  # nesting of table:table (a table inside a cell is part of that cell)
    active = False
    builder: RowBuilder | None = None
    number = column = repeat_rows = repeat_cells = 0
    text: Text | None = None
    typed: str | None = None
    paragraphs = inside = skip = 0  # paragraphs of the cell; depth inside one; inside an annotation
    for event, name, attrs in archive.events("content.xml"):
        if event == TEXT:
            if text is not None and inside and not skip:
                text.add(name)
            continue
        if event == START:
            if name == "table":
                depth += 1
                if depth == 1:
                    title = attrs.get("name", "")
                    seen.append(title)
                    active = wanted is None or title == wanted
                    if active:
                        named(title)
                        builder = RowBuilder(f"{archive.path}[{title}]", limits)
                        number = 0
            elif not active or depth != 1 or builder is None:
                continue
            elif name == "table-row":
                repeat_rows = _count(attrs.get("number-rows-repeated"), limits.max_rows + 1)
                column = 0
                builder.start()
            elif name in _CELLS:
                repeat_cells = _count(attrs.get("number-columns-repeated"), limits.max_columns + 1)
                kind = attrs.get("value-type", "")
                typed = attrs.get(_VALUE_ATTRS[kind]) if kind in _VALUE_ATTRS else None
                text = Text(limits.max_cell)
                paragraphs = inside = 0
            elif text is not None:
                if name == "annotation":
                    skip += 1
                elif name == "p" or name == "h":
                    if paragraphs and not skip:
                        text.add("\n")
                    paragraphs += not skip
                    inside += 1
                elif name == "s" and not skip:
                    text.add(" " * _count(attrs.get("c"), 1024))
                elif name == "tab" and not skip:
                    text.add("\t")
                elif name == "line-break" and not skip:
                    text.add("\n")
            continue
        # END
        if name == "table":
            depth -= 1
            if depth == 0 and active:
                return
        elif not active or depth != 1 or builder is None:
            continue
        elif name in _CELLS and text is not None:
            value = typed if typed is not None else text.value()
            builder.put(number + 1, column, value, text.cut and typed is None, repeat_cells)
            column += repeat_cells
            text = None
        elif name == "annotation":
            skip -= 1
        elif name == "p" or name == "h":
            inside -= 1
        elif name == "table-row":
            cells = builder.cells
            problems = builder.problems
            if not cells:
                number += repeat_rows  # blank rows, however many, cost nothing
                continue
            for _ in range(repeat_rows):
                number += 1
                builder.cells, builder.problems = list(cells), problems
                if _:
                    builder.cells_total += sum(1 for cell in cells if cell)
                    if builder.cells_total > limits.max_cells:
                        raise DataError(f"{builder.where}:{number}: more than {limits.max_cells:,} cells in the sheet")
                row = builder.finish(number)
                if row is not None:
                    yield row
    if wanted is not None:
        raise DataError(f"{archive.path}: no sheet named {wanted!r} (sheets: "
                        f"{', '.join(repr(name) for name in seen)[:300]})")
    if not seen:
        raise DataError(f"{archive.path}: the spreadsheet has no sheet")


def _count(value: str | None, limit: int) -> int:
    """A repetition count, at least 1, cut to ``limit`` (one over the sheet's limit: blanks cost
    nothing, and repeated values still reach the row, column and cell limits)."""
    if not value or not value.isdigit():
        return 1
    return max(1, min(int(value), limit))
