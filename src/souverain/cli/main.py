"""The ``souverain`` command: ``souverain VERB [NOUN]``; each command group has its own module."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from souverain.version import CODE_VERSION, OUTPUT_SCHEMA_VERSION, build_kind


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from souverain.kb.base import SCHEMA_VERSION, load_kb
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.psl import PublicSuffixList

    kb = load_kb()  # a broken KB: one line per problem and exit 2 (SouverainGroup)
    table = IPASNTable.load()
    click.echo(f"souverain {CODE_VERSION}")
    click.echo(build_kind())  # compiled or pure: the survey's speed depends on it
    click.echo(f"knowledge base {kb.version} ({len(kb.records)} records, record schema {SCHEMA_VERSION})")
    click.echo(f"output schema {OUTPUT_SCHEMA_VERSION}")
    sources = table.sources
    click.echo(f"ip-to-asn data {sources['asn'].get('date')} ({sources['asn'].get('package')})")
    if "country" in sources:
        click.echo(f"as registration countries {sources['country'].get('date')} ({sources['country'].get('package')})")
    click.echo(f"public suffix list {PublicSuffixList.bundled().version}")
    ctx.exit()


def _use_kb(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    from souverain.kb.base import use_kb

    use_kb(value)


class _OneLineError(click.ClickException):
    """A usage error or a SouverainError met while the command line is read: ``error: ...``, one
    line (click would print the usage first), credentials hidden."""

    def __init__(self, lines: list[str], exit_code: int) -> None:
        super().__init__(lines[-1])
        self.lines, self.exit_code = lines, exit_code

    def show(self, file=None) -> None:
        for line in self.lines:
            click.echo(line, err=True)


class SouverainGroup(click.Group):
    """The top-level group: every error raised before a command runs (bad option, bad value, a
    KB or database that fails its check) gets the same one-line treatment as errors inside it."""

    def make_context(self, *args, **kwargs) -> click.Context:
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        with _one_line():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line():
    from souverain.cli.options import error_lines
    from souverain.errors import SouverainError, redact

    try:
        yield
    except click.UsageError as exc:
        message = " ".join(exc.format_message().split())
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        raise _OneLineError([redact(f"error: {message}{hint}")], exc.exit_code) from None
    except SouverainError as exc:
        raise _OneLineError(error_lines(exc), exc.exit_code) from None


@click.group(cls=SouverainGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print code, knowledge-base and output-schema versions, then exit.")
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), envvar="SOUVERAIN_KB",
              is_eager=True, expose_value=False, callback=_use_kb, metavar="DIR",
              help="Use the knowledge base in DIR instead of the bundled one (env SOUVERAIN_KB).")
def cli() -> None:
    """Digital sovereignty audits: who can legally reach your data, with evidence."""


def _register() -> None:
    from souverain.cli import assess, history, inventory, kb, scan, schema, serve, survey, who

    cli.add_command(kb.kb)
    cli.add_command(who.who_command)
    cli.add_command(scan.scan_command)
    cli.add_command(history.history_command)
    cli.add_command(assess.assess_command)
    cli.add_command(assess.compare_command)
    cli.add_command(survey.survey)
    cli.add_command(schema.schema_command)
    cli.add_command(inventory.inventory_command)
    cli.add_command(serve.serve_command)
    cli.add_command(serve.users_command)


_register()


def main() -> None:
    cli(prog_name="souverain")


if __name__ == "__main__":
    main()
