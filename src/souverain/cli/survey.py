"""``souverain survey``: whole populations, resumable, aggregated; ``report``, ``diff``, ``list``."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from souverain.cli.options import (
    at_option,
    check_scheduler,
    db_option,
    display_names,
    dns_timeout_option,
    emit,
    format_option,
    functions_option,
    handle_errors,
    lang_option,
    min_confidence_option,
    nameserver_option,
    output_option,
    output_option_for,
    parse_functions,
    quiet_option,
    rdap_qps_option,
    rdap_url_option,
    to_json,
    wide_option,
)
from souverain.collect.dns import parse_nameserver
from souverain.errors import UsageError
from souverain.report.i18n import Translator

if TYPE_CHECKING:
    from souverain.model.survey import Outcome


class SurveyGroup(click.Group):
    """``souverain survey INPUT`` runs a survey; ``report``, ``diff`` and ``list`` are sub-commands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("survey", cls=SurveyGroup)
def survey() -> None:
    """Survey a population: `souverain survey INPUT [options]`, then `survey report RUN` / `survey diff A B`."""


class _Progress:
    """Rate, ETA and counts by outcome on stderr (a live bar on a terminal, a line every 5 s otherwise),
    short enough for an 80-column terminal."""

    def __init__(self, total: int, quiet: bool, t: Translator | None = None) -> None:
        self.total, self.quiet, self.done = total, quiet, 0
        self.t = t or Translator("en")
        self.counts: Counter = Counter()
        self.started = self.last = time.monotonic()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console

            self.bar = self.make_bar(Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("survey", total=total, rate="0", outcomes="")

    @staticmethod
    def make_bar(console):
        """Bar, done/total, rate, time left and outcomes: the outcomes are cut, never wrapped."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column

        return Progress(BarColumn(bar_width=16), MofNCompleteColumn(), TextColumn("{task.fields[rate]}/s"),
                        TimeRemainingColumn(compact=True),
                        TextColumn("{task.fields[outcomes]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                        console=console)

    def outcomes(self) -> str:
        return self.t("survey.outcomes", ok=self.counts["ok"], unknown=self.counts["unknown"],
                      exposed=self.counts["verdict:exposed"])

    def __call__(self, row: Outcome) -> None:
        self.done += 1
        self.counts[row.status] += 1
        self.counts[f"verdict:{row.verdict or 'unknown'}"] += 1
        now = time.monotonic()
        rate = self.done / max(now - self.started, 1e-6)
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, rate=f"{rate:.0f}", outcomes=self.outcomes())
        elif not self.quiet and now - self.last > 5:
            eta = (self.total - self.done) / rate if rate else 0
            click.echo(self.t("survey.progress", done=self.done, total=self.total, rate=f"{rate:.0f}",
                              eta=f"{eta:.0f} s", outcomes=self.outcomes()), err=True)
            self.last = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# what `survey run -q` still prints on stderr: problems, and how to resume an interrupted run
_INFORMATION = ("survey ", "resuming ", "retrying ", "done: ", "wrote ")


def _echo(quiet: bool):
    def echo(line: str) -> None:
        if not (quiet and line.startswith(_INFORMATION)):
            click.echo(line, err=True)
    return echo


def _workers(value: str) -> int:
    if value == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise click.BadParameter(f"{value!r}: give a number of processes from 1 to 256, or auto")
    return int(value)


@survey.command("run")
@click.argument("input_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), metavar="INPUT")
@click.option("--input-format", type=click.Choice(("csv", "tsv", "xlsx", "ods", "jsonl", "list")),
              help="Default: from the extension.")
@click.option("--domain-column", help="Column holding the domain (default: domain, website, url...).")
@click.option("--sheet", metavar="NAME", help="XLSX/ODS input: the sheet to read (default: the first).")
@functions_option(("mail", "dns"))
@rdap_url_option
@rdap_qps_option
@click.option("--concurrency", type=click.IntRange(1, 5000), default=200, show_default=True,
              help="DNS queries in flight.")
@click.option("--qps", type=click.FloatRange(1, None), help="Politeness limit: DNS queries per second.")
@nameserver_option
@dns_timeout_option(2.0)
@click.option("--dkim", type=click.Choice(("fast", "full")), default="fast", show_default=True,
              help="fast: provider selectors, and look-through signals (autodiscover, DKIM, derived hosts) "
                   "only when the MX does not name a mailbox provider, no DMARC/MTA-STS; full: what `scan` asks.")
@click.option("--web-fetch", is_flag=True, help="Also fetch home pages (slow; off by default for surveys).")
@at_option
@click.option("--name", help="Run name (default: input file name and time).")
@click.option("--resume", "resume", is_flag=True, help="Continue the run named --name (or the last run of INPUT).")
@click.option("--retry", type=click.Choice(("unknown",)),
              help="Scan again the results of the run named --name (or the last run of INPUT) with this status, "
                   "replacing them; then finish the run like --resume.")
@db_option
@click.option("--executor", type=click.Choice(("local", "dask")), default="local", show_default=True)
@click.option("--workers", default="auto", show_default=True, callback=lambda _c, _p, v: _workers(v),
              help="Local executor: processes, one event loop each; auto = the cores this process may use.")
@click.option("--scheduler", metavar="ADDRESS", callback=check_scheduler,
              help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
@click.option("--partition-size", type=click.IntRange(1, 100000), default=500, show_default=True,
              help="Domains per task of --workers processes or Dask (at most this many per task are redone after a crash).")
@click.option("--batch-size", type=click.IntRange(1, 100000), default=500, show_default=True,
              help="Results per database commit (at most this many are redone after a crash).")
@output_option_for(".jsonl", ".csv", ".parquet")  # what survey/export.py writes
@quiet_option
@lang_option
@handle_errors
def run(input_path, input_format, domain_column, sheet, functions_text, rdap_url, rdap_qps, concurrency, qps, nameservers, timeout, dkim,
        web_fetch, at, name, resume, retry, db_url, executor, workers, scheduler, partition_size, batch_size, output,
        quiet, lang) -> None:
    """Scan every domain of INPUT (CSV, TSV, XLSX, ODS, JSONL or a list); results stream into the database.

    Ctrl-C stops the run, keeps every finished result and prints the command that resumes it.
    """
    from souverain.kb.base import load_kb
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey import session
    from souverain.survey.export import check_output, write_results
    from souverain.survey.runner import SurveyOptions
    from souverain.survey.stop import StopRequest

    if executor == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS")
    if output:
        check_output(output)
    options = SurveyOptions(functions=parse_functions(functions_text),
                            nameservers=[parse_nameserver(ns) for ns in nameservers] or None,
                            timeout=timeout, concurrency=concurrency, qps=qps, at=at,
                            fetch_web=web_fetch, dkim=dkim, batch=batch_size, rdap_url=rdap_url,
                            rdap_qps=rdap_qps)
    plan = session.Executor(executor, workers, scheduler, partition_size)
    kb = load_kb()
    stop = StopRequest()
    echo = _echo(quiet)
    try:
        with Store.open(db_url) as store:
            surveys = SurveyStore(store)
            run_row, lease, options = session.open_run(
                surveys, input_path, options, kb.version, name=name, resume=resume, retry=retry,
                input_format=input_format, domain_column=domain_column, echo=echo,
                on_lost=lambda: stop.request(session.LEASE_LOST), sheet=sheet)
            with lease:
                finished = session.scan_run(kb, surveys, run_row, lease, options, plan, retry=retry,
                                            stop=stop, progress=lambda total: _Progress(total, quiet, Translator(lang)),
                                            db_url=db_url, echo=echo)
                if finished and output:
                    written = write_results(surveys.results(run_row["id"]), output, surveys.attributes(run_row["id"]))
                    echo(f"wrote {written} rows to {output}")
    except KeyboardInterrupt:  # before scanning started, or a second Ctrl-C
        echo("interrupted")
        raise SystemExit(130) from None
    if stop.requested:
        raise SystemExit(130)


@survey.command("list")
@db_option
@lang_option
@handle_errors
def list_runs(db_url, lang) -> None:
    """List survey runs with their progress (a run whose process died shows as interrupted)."""
    from souverain.report import terminal
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.session import shown_status

    with Store.open(db_url) as store:
        surveys = SurveyStore(store)
        leases = surveys.leases()
        rows = [(r["id"], r["name"], r["created"], shown_status(r, leases.get(r["id"])),
                 f"{surveys.counts(r['id'])['done']}/{r['total']}", r["input"]) for r in surveys.runs()]
    from souverain.report.i18n import Translator

    t = Translator(lang)
    click.echo(terminal.render(terminal.table(
        [t("field.id"), t("field.name"), t("field.created"), t("field.status"), t("field.done"), t("field.input")],
        [(*row[:3], t.token("run_status", row[3]), *row[4:]) for row in rows])))


@survey.command("export")
@click.argument("run_ref", metavar="RUN")
@db_option
@output_option
@handle_errors
def export(run_ref, db_url, output) -> None:
    """Write the stored results of RUN to -o FILE (.jsonl, .csv or .parquet), as `survey run -o` does."""
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.export import check_output, write_results
    from souverain.survey.session import shown_status

    if output is None:
        raise UsageError("survey export needs -o FILE (.jsonl, .csv or .parquet)")
    check_output(output)
    with Store.open(db_url) as store:
        surveys = SurveyStore(store)
        run_row = surveys.find(run_ref)
        written = write_results(surveys.results(run_row["id"]), output, surveys.attributes(run_row["id"]))
        status = shown_status(run_row, surveys.lease(run_row["id"]))
    click.echo(f"wrote {written} rows of survey {run_row['name']!r} ({status}, {written}/{run_row['total']} "
               f"domains) to {output}", err=True)


@survey.command("report")
@click.argument("run_ref", metavar="RUN")
@click.option("--group-by", help="Group attribute (an input column), e.g. region.")
@click.option("--geo", type=click.Choice(("auto", "fr-departements", "fr-regions", "europe", "none")), default="auto",
              show_default=True, help="Map for the choropleth (auto: from the group codes).")
@format_option("table", "json", "html", default=None,
               help="Output format; default: html when -o ends with .html, else table.")
@min_confidence_option
@db_option
@output_option
@wide_option
@lang_option
@handle_errors
def report(run_ref, group_by, geo, fmt, min_tier, db_url, output, wide, lang) -> None:
    """Aggregate RUN: share of domains reachable by foreign law, by group, provider and country."""
    from souverain.kb.base import load_kb
    from souverain.report.survey import survey_html, survey_table
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.reporting import report_data

    fmt = fmt or ("html" if output and output.suffix.lower() in (".html", ".htm") else "table")
    with Store.open(db_url) as store:
        data = report_data(SurveyStore(store), run_ref, load_kb(), group_by, min_tier)
    if fmt == "json":
        emit(to_json(data), output)
    elif fmt == "html":
        emit(survey_html(data, lang, geo, display_names()), output)
    else:
        from souverain.report.terminal import terminal_width

        emit(survey_table(data, lang, terminal_width(wide)), output)


@survey.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@format_option("table", "json", "csv", "html")
@db_option
@output_option
@lang_option
@handle_errors
def diff(run_a, run_b, fmt, db_url, output, lang) -> None:
    """List who moved from what to what between RUN_A and RUN_B."""
    from souverain.report import terminal
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.reporting import diff_runs

    with Store.open(db_url) as store:
        a, b, moves = diff_runs(SurveyStore(store), run_a, run_b)
    if fmt == "json":
        emit(to_json({"run_a": a["name"], "run_b": b["name"], "moves": moves}), output)
    elif fmt == "csv":
        import csv
        import io

        from souverain.report.formulas import safe_cell

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["domain", "function", "before", "after", "foreign_before",
                                                    "foreign_after"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: safe_cell(value) for key, value in move.items()} for move in moves)
        emit(buffer.getvalue(), output)
    elif fmt == "html":
        from souverain.report.survey import diff_html

        emit(diff_html(a, b, moves, lang, display_names()), output)
    else:
        from souverain.report.i18n import Translator

        t = Translator(lang, display_names())
        emit(terminal.render(terminal.table(
            [t("field.domain"), t("field.function"), t("field.before"), t("field.after")],
            [(m["domain"], t.function(m["function"]), t.token("status", m["before"]), t.token("status", m["after"]))
             for m in moves],
            title=t("survey.diff_title", run_a=a["name"], run_b=b["name"], count=len(moves)))), output)
