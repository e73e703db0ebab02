"""Options and output helpers shared by every command (one set, same behaviour everywhere)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from souverain.errors import SouverainError


def format_option(*choices: str, default: str = "table") -> Callable:
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=default, show_default=True,
        help="Output format.",
    )


output_option = click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the output to FILE instead of standard output.",
)
lang_option = click.option(
    "--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True, envvar="SOUVERAIN_LANG",
    help="Language of the text meant for people.",
)


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


at_option = click.option(
    "--at", "at", callback=_parse_date, metavar="DATE",
    help="Evaluate ownership and laws as of DATE (YYYY-MM-DD); default today.",
)


def emit(text: str, output: Path | None) -> None:
    """Data goes to FILE or stdout (never mixed with logs, which go to stderr)."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def handle_errors(func: Callable) -> Callable:
    """SouverainError -> its exit code with a one-line message; anything else -> exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SouverainError as exc:
            for problem in getattr(exc, "problems", [])[:50]:  # path:line: field: problem, one per line
                click.echo(str(problem), err=True)
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except Exception:  # noqa: BLE001 - last resort at the CLI boundary only
            click.echo("internal error (please report it with the trace below):", err=True)
            traceback.print_exc()
            sys.exit(1)

    return wrapper
