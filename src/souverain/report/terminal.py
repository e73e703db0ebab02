"""Terminal rendering with rich: tables and key/value panels, rendered to a string."""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


def console(file=None, width: int | None = None) -> Console:
    target = file or io.StringIO()
    colour = file is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return Console(file=target, width=width or 120, no_color=not colour, highlight=False,
                   force_terminal=colour, soft_wrap=False)


def render(*renderables, width: int | None = None) -> str:
    buffer = io.StringIO()
    con = console(buffer, width)
    for item in renderables:
        con.print(item)
    return buffer.getvalue()


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
