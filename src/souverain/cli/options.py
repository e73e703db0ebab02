"""Options and output helpers shared by every command (one set, same behaviour everywhere)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from souverain.collect.domain import DEFAULT_GROUPS, FUNCTION_GROUPS
from souverain.collect.rdap_pace import DEFAULT_QPS
from souverain.errors import SouverainError, UsageError, redact
from souverain.report.i18n import DisplayNames
from souverain.report.sources import SourceIndex


def format_option(*choices: str, default: str | None = "table", help: str = "Output format.",
                  ) -> Callable:
    """``--format`` among ``choices``; ``default=None``: the command chooses (``help`` says how)."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=default,
        show_default=default is not None, help=help,
    )


nameserver_option = click.option(
    "--nameserver", "nameservers", multiple=True, metavar="HOST[:PORT]",
    help="DNS server to query (repeatable); default: the system resolvers.",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress indicator.")


def dns_timeout_option(default: float) -> Callable:
    return click.option(
        "--timeout", type=click.FloatRange(0.05, 60), default=default, show_default=True,
        help="Seconds to wait for each DNS answer (a timeout is retried twice, to the next "
             "--nameserver when several are given).",
    )


def functions_option(default: tuple[str, ...] = DEFAULT_GROUPS) -> Callable:
    """``--functions``, read by ``parse_functions`` in the command (a bad group exits 2)."""
    return click.option(
        "--functions", "functions_text", default=",".join(default), show_default=True,
        help=f"Groups of checks: {', '.join(FUNCTION_GROUPS)}.",
    )


def _check_rdap_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"{value!r}: give an http:// or https:// URL (the RDAP base, before /domain/)")
    return value


rdap_url_option = click.option(
    "--rdap-url", metavar="URL", callback=_check_rdap_url,
    help="registrar group: ask this RDAP server (base URL, before /domain/) instead of the one the bundled "
         "IANA bootstrap gives for the TLD (e.g. a loopback test server).")


rdap_qps_option = click.option(
    "--rdap-qps", type=click.FloatRange(0.01, 100), default=DEFAULT_QPS, show_default=True, metavar="N",
    help="registrar group: at most N requests per second to each RDAP server (registries rate-limit and block; "
         "a server's HTTP 429/503 pauses it as its Retry-After asks, up to 60 s, and halves its rate).")


def parse_functions(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [item for item in items if item not in FUNCTION_GROUPS]
    if bad or not items:
        raise UsageError(f"--functions: unknown {', '.join(bad) or '(empty)'}; "
                         f"choose among {', '.join(FUNCTION_GROUPS)}")
    return items


def check_output_path(path: Path, suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse, before any work starts, an output file that could not be written at the end."""
    if path.is_dir():
        raise click.BadParameter(f"{path} is a folder; give a file name")
    if suffixes and path.suffix.lower() not in suffixes:
        raise click.BadParameter(f"{path}: use a file name ending in {', '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"{path} is not writable")
    return path


def output_option_for(*suffixes: str) -> Callable:
    """``-o FILE``, checked when the command line is read: its folder exists and is writable, and
    its name ends in one of ``suffixes`` (any name when none are given)."""
    allowed = tuple(suffix.lower() for suffix in suffixes)

    def check(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is None or ctx.resilient_parsing:
            return value
        return check_output_path(value, allowed)

    return click.option(
        "-o", "--output", type=click.Path(path_type=Path), callback=check, metavar="FILE",
        help="Write the output to FILE instead of standard output"
             + (f" ({', '.join(allowed)})." if allowed else "."),
    )


output_option = output_option_for()
def environment_lang(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: SOUVERAIN_LANG, else the locale (LC_ALL, then
    LC_MESSAGES, then LANG, as gettext reads them): ``fr`` for a French locale, else ``en``."""
    env = os.environ if environ is None else environ
    for name in ("SOUVERAIN_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def _lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    return value or environment_lang()


lang_option = click.option(
    "--lang", type=click.Choice(["en", "fr"]), default=None, callback=_lang,
    help="Language of the text meant for people (default: SOUVERAIN_LANG, else the locale: "
         "LC_ALL, LC_MESSAGES or LANG starting with fr -> fr, otherwise en).",
)
wide_option = click.option("--wide", is_flag=True,
                           help="Terminal tables: keep every column (default: fit the terminal width).")


def display_names() -> DisplayNames:
    """KB display names (laws, functions, regions) for the report layer."""
    from souverain.kb.base import load_kb
    from souverain.kb.display import display_names as names_of

    return names_of(load_kb())


def kb_sources() -> SourceIndex:
    """Record id -> its sources, for the HTML reports' numbered source lists."""
    from souverain.kb.base import load_kb
    from souverain.kb.display import record_sources

    return record_sources(load_kb())


def _check_db(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or ctx.resilient_parsing:
        return value
    from souverain.store.database import check_url

    try:
        check_url(value, probe=True)
    except SouverainError as exc:
        raise click.BadParameter(redact(str(exc))) from None
    return value


db_option = click.option(
    "--db", "db_url", metavar="URL", envvar="SOUVERAIN_DB", callback=_check_db,
    help="Database: sqlite:///PATH or postgresql://USER@HOST/DATABASE (default: SQLite in the user data "
         "folder; env SOUVERAIN_DB). Checked before any work starts.",
)


_ADDRESS = re.compile(r"^(?:(?P<scheme>[a-z]+)://)?(?:[^@/\s]*@)?"
                      r"(?P<host>\[[0-9a-fA-F:.]+\]|[^\s:/\[\]@]+):(?P<port>\d{1,5})/?$")


def check_scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--scheduler``: a tcp/tls HOST:PORT that accepts connections, checked before any work."""
    if value is None or ctx.resilient_parsing:
        return value
    match = _ADDRESS.match(value)
    if not match or match["scheme"] not in (None, "tcp", "tls") or not 0 < int(match["port"]) < 65536:
        raise click.BadParameter(redact(f"{value}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"))
    try:
        socket.create_connection((match["host"].strip("[]"), int(match["port"])), timeout=10).close()
    except OSError as exc:
        raise click.BadParameter(redact(f"{value}: cannot connect ({exc.strerror or exc})")) from None
    return value


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    return parse_date(value)


at_option = click.option(
    "--at", "at", callback=_parse_date, metavar="DATE",
    help="Evaluate ownership and laws as of DATE (YYYY-MM-DD); default today.",
)


def emit(text: str, output: Path | None, quiet: bool = False) -> None:
    """Data goes to FILE or stdout (never mixed with logs, which go to stderr); ``quiet``: no
    "wrote FILE" line."""
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:  # the folder vanished, the disk is full...
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    if not quiet:
        click.echo(f"wrote {output}", err=True)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def error_lines(exc: SouverainError) -> list[str]:
    """What a person sees for a SouverainError: its problems one per line (``path:line: ...``),
    then a summary line, or just the problem when there is one; credentials hidden."""
    problems = [str(problem) for problem in getattr(exc, "problems", [])]
    lines = problems if len(problems) == 1 else [*problems[:50], f"error: {exc}"]
    return [redact(" ".join(line.split())) for line in lines]


def handle_errors(func: Callable) -> Callable:
    """SouverainError -> its exit code with one line (or one per problem); OSError (a file or a
    server the user named) -> exit 2 with one line; anything else -> exit 1 with the trace."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SouverainError as exc:
            for line in error_lines(exc):
                click.echo(line, err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except OSError as exc:
            click.echo(redact(f"error: {' '.join(str(exc).split())}"), err=True)
            sys.exit(2)
        except Exception as exc:  # noqa: BLE001 - last resort at the CLI boundary only
            if _database_failure(exc):  # locked, lost connection, tables of another version
                cause = " ".join(str(getattr(exc, "orig", None) or exc).split())
                click.echo(redact(f"error: the database failed: {cause}"), err=True)
                sys.exit(2)
            click.echo("internal error (please report it with the trace below):", err=True)
            click.echo(redact(traceback.format_exc()), err=True, nl=False)
            sys.exit(1)

    return wrapper


def _database_failure(exc: Exception) -> bool:
    errors = sys.modules.get("sqlalchemy.exc")  # loaded if the error can come from it
    return errors is not None and isinstance(exc, errors.OperationalError)


def min_confidence_option(func):
    """``--min-confidence TIER``: the weakest tier of answer the verdict and shares count."""
    return click.option(
        "--min-confidence", "min_tier", type=click.Choice(("verified", "registered", "inferred")),
        default="inferred", show_default=True,
        help="Weakest tier of answer counted in verdicts, scores and shares: verified (KB fingerprint or "
             "researched operator), registered (also networks known by registration only), inferred (also "
             "mailboxes deduced from secondary signals). Weaker answers count as unknown.")(func)
