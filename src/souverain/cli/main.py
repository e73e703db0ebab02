"""The ``souverain`` command: ``souverain VERB [NOUN]``; each command group has its own module."""

from __future__ import annotations

from pathlib import Path

import click

from souverain.version import CODE_VERSION, OUTPUT_SCHEMA_VERSION


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from souverain.kb.base import SCHEMA_VERSION, load_kb
    from souverain.kb.ipasn import IPASNTable
    from souverain.kb.psl import PublicSuffixList

    from souverain.errors import SouverainError

    try:
        kb = load_kb()
    except SouverainError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    table = IPASNTable.load()
    click.echo(f"souverain {CODE_VERSION}")
    click.echo(f"knowledge base {kb.version} ({len(kb.records)} records, record schema {SCHEMA_VERSION})")
    click.echo(f"output schema {OUTPUT_SCHEMA_VERSION}")
    click.echo(f"ip-to-asn data {table.meta['source'].get('date')} ({table.meta['source'].get('package')})")
    click.echo(f"public suffix list {PublicSuffixList.bundled().version}")
    ctx.exit()


def _use_kb(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    from souverain.kb.base import use_kb

    use_kb(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Print code, knowledge-base and output-schema versions, then exit.")
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), envvar="SOUVERAIN_KB",
              is_eager=True, expose_value=False, callback=_use_kb, metavar="DIR",
              help="Use the knowledge base in DIR instead of the bundled one (env SOUVERAIN_KB).")
def cli() -> None:
    """Digital sovereignty audits: who can legally reach your data, with evidence."""


def _register() -> None:
    from souverain.cli import assess, history, kb, scan, survey, who

    cli.add_command(kb.kb)
    cli.add_command(who.who_command)
    cli.add_command(scan.scan_command)
    cli.add_command(history.history_command)
    cli.add_command(assess.assess_command)
    cli.add_command(assess.compare_command)
    cli.add_command(survey.survey)


_register()


def main() -> None:
    cli(prog_name="souverain")


if __name__ == "__main__":
    main()
