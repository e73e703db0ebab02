"""Terminal rendering with rich: tables and key/value panels, rendered to a string."""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

WIDE = 1000  # --wide: every column at its natural width, whatever the terminal
FALLBACK_WIDTH = 100  # output to a pipe or a file, COLUMNS unset

# Characters that move the cursor or change what the following text looks like: C0 and C1
# controls (newline, carriage return, ESC of ANSI sequences...), DEL, line and paragraph
# separators, and the bidirectional overrides and isolates that reorder a line on screen.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` on one line and shown as it is: each control character written as an escape
    (``\\DDD`` as in DNS presentation format, ``\\uXXXX`` above 255), so that remote data (a
    TXT record, a URL) cannot start a fake line or restyle the terminal in a report."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\{code:03d}" if code < 256 else f"\\u{code:04x}"


def terminal_width(wide: bool = False) -> int:
    """The width reports fit: the terminal's (``COLUMNS`` first), at least 40 columns."""
    if wide:
        return WIDE
    return max(40, shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns)


def wrap(lines: Iterable[str], width: int, indent: str = "") -> str:
    """Sentences wrapped at ``width`` (words kept whole: a host name or a URL is never cut), one
    line break after each; ``WIDE`` leaves them on one line."""
    import textwrap

    if width >= WIDE:
        return "".join(f"{indent}{line}\n" for line in lines)
    return "".join(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent + "  ",
                                 break_long_words=False, break_on_hyphens=False) + "\n" for line in lines)


def console(file=None, width: int | None = None) -> Console:
    target = file or io.StringIO()
    colour = file is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return Console(file=target, width=width or 120, no_color=not colour, highlight=False,
                   force_terminal=colour, soft_wrap=False)


def render(*renderables, width: int | None = None) -> str:
    """The renderables as text ``width`` columns wide (default: the terminal's); with ``WIDE``
    each table keeps its natural width instead of being folded."""
    target = width or terminal_width()
    buffer = io.StringIO()
    con = console(buffer, target)
    for item in renderables:
        if target >= WIDE and isinstance(item, Table):
            con.width = min(WIDE, natural_width(item))
        con.print(item)
        con.width = target
    return buffer.getvalue()


def natural_width(item: Table) -> int:
    """Columns ``item`` needs to show every cell on one line."""
    con = Console(file=io.StringIO(), width=WIDE)
    return Measurement.get(con, con.options, item).maximum


FOLDED_MIN = 20  # a column of long text folds, but narrower than this it is no longer readable


def fit(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int, drop: Sequence[int] = (),
        title: str | None = None) -> tuple[Table, bool]:
    """A table that fits ``width``: while its columns cannot all get their width (at most
    ``FOLDED_MIN`` for the ones that fold), the columns ``drop`` lists (indices, least useful
    first) are left out; the rest is folded. Returns it and whether a column was left out."""
    cells = [[cell_len(str(header)), *(cell_len("" if row[i] is None else str(row[i])) for row in rows)]
             for i, header in enumerate(headers)]
    needed = [min(max(column), FOLDED_MIN) for column in cells]
    keep = list(range(len(headers)))
    for index in drop:
        if sum(needed[i] + 3 for i in keep) + 1 <= width:
            break
        keep.remove(index)
    out = table([headers[i] for i in keep], [[row[i] for i in keep] for row in rows], title=title)
    return out, len(keep) < len(headers)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], title: str | None = None) -> Table:
    out = Table(title=escape(title) if title else None, show_lines=False, header_style="bold")
    for header in headers:
        out.add_column(escape(header), overflow="fold")
    for row in rows:
        out.add_row(*(escape(printable("" if cell is None else str(cell))) for cell in row))
    return out


def key_values(pairs: Iterable[tuple[str, object]], title: str | None = None) -> Table:
    out = Table(title=escape(title) if title else None, show_header=False, box=None, padding=(0, 1))
    out.add_column(style="bold", no_wrap=True)
    out.add_column(overflow="fold")
    for key, value in pairs:
        if value in (None, "", [], {}):
            continue
        out.add_row(escape(key), escape(printable(str(value))))
    return out
