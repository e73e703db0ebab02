"""One sheet row being assembled from its cells, within the limits: gaps filled with empty cells,
trailing empty cells dropped, over-long cells cut and reported on the row."""

from __future__ import annotations

from typing import NamedTuple

from souverain.errors import DataError
from souverain.tabular.zipsafe import Limits


class Row(NamedTuple):
    number: int  # the sheet's own row number (1-based)
    cells: list[str]
    problem: str | None  # a cell cut or dropped; the row is still usable


class Text:
    """Character data of one cell, kept up to the limit (the rest is counted, not stored)."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size, self.limit = 0, limit

    def add(self, text: str) -> None:
        if self.size < self.limit:
            self.parts.append(text[:self.limit - self.size])
        self.size += len(text)

    @property
    def cut(self) -> bool:
        return self.size > self.limit

    def value(self) -> str:
        return "".join(self.parts)


def column_index(reference: str) -> int:
    """0-based column of an A1 reference (``"AB12"`` → 27); -1 when it has no letters."""
    index = 0
    for char in reference:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            index = index * 26 + ord(char) - 96
        else:
            break
    return index - 1


def column_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


class RowBuilder:
    """Cells of the current row, and the sheet-wide counts that bound a hostile file."""

    def __init__(self, where: str, limits: Limits) -> None:
        self.where, self.limits = where, limits
        self.rows = self.cells_total = 0
        self.cells: list[str] = []
        self.problems: list[str] = []

    def start(self) -> None:
        self.cells, self.problems = [], []

    def put(self, number: int, column: int, value: str, cut: bool, repeat: int = 1) -> None:
        if not value:
            return
        if cut:
            self.problems.append(f"cell {column_name(column)}{number} is longer than {self.limits.max_cell:,} "
                                 "characters (cut)")
        if column + repeat > self.limits.max_columns:
            self.problems.append(f"cells beyond column {column_name(self.limits.max_columns - 1)} (ignored)")
            repeat = self.limits.max_columns - column
            if repeat <= 0:
                return
        self.cells_total += repeat
        if self.cells_total > self.limits.max_cells:
            raise DataError(f"{self.where}:{number}: more than {self.limits.max_cells:,} cells in the sheet")
        if column > len(self.cells):
            self.cells.extend([""] * (column - len(self.cells)))
        if column < len(self.cells):  # a cell given twice (or out of order): the last one wins
            self.cells[column] = value
        else:
            self.cells.extend([value] * repeat)

    def finish(self, number: int) -> Row | None:
        """The row, or None when it is empty (empty rows are not counted against the limit)."""
        if not self.cells:
            return None
        self.rows += 1
        if self.rows > self.limits.max_rows:
            raise DataError(f"{self.where}:{number}: more than {self.limits.max_rows:,} rows")
        return Row(number, self.cells, "; ".join(dict.fromkeys(self.problems)) or None)
