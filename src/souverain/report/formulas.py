"""Cells written to a CSV or a spreadsheet never start a formula (CSV injection, OWASP): a text
cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width
forms, which some spreadsheet applications fold) gets a leading apostrophe, which spreadsheets
show as text. Plain numbers (``-3``, ``+1.5``) are left as they are: they cannot be formulas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: T) -> T | str:
    """``value`` unchanged unless it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[T]) -> list[T | str]:
    return [safe_cell(value) for value in values]
