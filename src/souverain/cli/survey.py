"""``souverain survey``: whole populations, resumable, aggregated; ``report``, ``diff``, ``list``."""

from __future__ import annotations

import json
import os

import sys
import time
from collections import Counter
from pathlib import Path

import click

from souverain.cli.options import (
    at_option, check_scheduler, db_option, emit, handle_errors, lang_option, output_option, output_option_for, to_json,
)
from souverain.cli.scan import nameserver_option, parse_functions
from souverain.collect.dns import parse_nameserver
from souverain.errors import UsageError


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
    """Rate, ETA and counts by outcome on stderr (a live bar on a terminal, a line every 5 s otherwise)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet, self.done = total, quiet, 0
        self.counts: Counter = Counter()
        self.started = self.last = time.monotonic()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}/s"), TimeRemainingColumn(),
                                TextColumn("{task.fields[outcomes]}"), console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task("survey", total=total, rate="0", outcomes="")

    def __call__(self, row: dict) -> None:
        self.done += 1
        self.counts[row["status"]] += 1
        self.counts[f"verdict:{row.get('verdict') or 'unknown'}"] += 1
        now = time.monotonic()
        rate = self.done / max(now - self.started, 1e-6)
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, rate=f"{rate:.0f}", outcomes=outcomes)
        elif not self.quiet and now - self.last > 5:
            eta = (self.total - self.done) / rate if rate else 0
            click.echo(f"{self.done}/{self.total} domains, {rate:.0f}/s, ETA {eta:.0f} s, {outcomes}", err=True)
            self.last = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


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
@click.option("--input-format", type=click.Choice(("csv", "tsv", "jsonl", "list")), help="Default: from the extension.")
@click.option("--domain-column", help="Column holding the domain (default: domain, website, url...).")
@click.option("--functions", "functions_text", default="mail,dns", show_default=True, help="mail, dns, web.")
@click.option("--concurrency", type=click.IntRange(1, 5000), default=200, show_default=True,
              help="DNS queries in flight.")
@click.option("--qps", type=click.FloatRange(1, None), help="Politeness limit: DNS queries per second.")
@nameserver_option
@click.option("--timeout", type=click.FloatRange(0.05, 60), default=2.0, show_default=True)
@click.option("--dkim", type=click.Choice(("fast", "full")), default="fast", show_default=True,
              help="fast: provider selectors, and look-through signals (autodiscover, DKIM, derived hosts) "
                   "only when the MX does not name a mailbox provider, no DMARC/MTA-STS; full: what `scan` asks.")
@click.option("--web-fetch", is_flag=True, help="Also fetch home pages (slow; off by default for surveys).")
@at_option
@click.option("--name", help="Run name (default: input file name and time).")
@click.option("--resume", "resume", is_flag=True, help="Continue the run named --name (or the last run of INPUT).")
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
@click.option("--quiet", "-q", is_flag=True)
@handle_errors
def run(input_path, input_format, domain_column, functions_text, concurrency, qps, nameservers, timeout, dkim,
        web_fetch, at, name, resume, db_url, executor, workers, scheduler, partition_size, batch_size, output,
        quiet) -> None:
    """Scan every domain of INPUT (CSV, TSV, JSONL or a list); results stream into the database."""
    from souverain.kb.base import load_kb
    from souverain.kb.ipasn import IPASNTable
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.inputs import BadRow, iter_population
    from souverain.survey.runner import SurveyOptions, run_local

    if executor == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS")
    options = SurveyOptions(functions=parse_functions(functions_text),
                            nameservers=[parse_nameserver(ns) for ns in nameservers] or None, timeout=timeout,
                            concurrency=concurrency, qps=qps, at=at, fetch_web=web_fetch, dkim=dkim,
                            batch=batch_size)
    kb = load_kb()
    with Store.open(db_url) as store:
        surveys = SurveyStore(store)
        if resume:
            ref = name or _last_run_of(surveys, input_path)
            run_row = surveys.find(ref)
            if run_row["status"] == "creating":
                raise UsageError(f"survey {run_row['name']!r} stopped while its input was being registered: "
                                 "nothing was scanned; start it again with another --name")
            survey_id = run_row["id"]
            options = SurveyOptions.from_dict(__import__("json").loads(run_row["options"]))
            click.echo(f"resuming survey {run_row['name']!r} (id {survey_id})", err=True)
        else:
            name = name or f"{input_path.stem}-{time.strftime('%Y%m%dT%H%M%S')}"
            bad = _BadRows(input_path)
            read = {"rows": 0}

            def targets():
                for item in iter_population(input_path, input_format, domain_column):
                    if isinstance(item, BadRow):
                        bad(item)
                    else:
                        read["rows"] += 1
                        yield item

            survey_id = surveys.create(name, str(input_path), options.as_dict(), kb.version, targets())
            surveys.set_bad_rows(survey_id, bad.count)
            total = surveys.find(str(survey_id))["total"]
            if bad.count or read["rows"] != total:
                click.echo(f"{bad.count} bad row(s) skipped, {read['rows'] - total} duplicate(s)", err=True)
            if not total:
                surveys.finish(survey_id, "empty")
                raise UsageError(f"{input_path}: no valid domain")
            click.echo(f"survey {name!r} (id {survey_id}): {total} domains", err=True)
        counts = surveys.counts(survey_id)
        total = surveys.find(str(survey_id))["total"]
        progress = _Progress(total - counts["done"], quiet)
        try:
            if executor == "dask":
                from souverain.survey.dask_backend import run_dask

                outcomes = run_dask(surveys, survey_id, options, scheduler, partition_size, progress=progress)
            elif workers > 1:
                from souverain.kb.base import _default_root
                from souverain.survey.runner import run_processes

                outcomes = run_processes(surveys, survey_id, options, workers, partition_size,
                                         kb_root=str(_default_root), progress=progress)
            else:
                from souverain.survey.runner import run_async

                outcomes = run_async(run_local(kb, IPASNTable.load(), surveys, survey_id, options, progress))
        except KeyboardInterrupt:
            surveys.finish(survey_id, "interrupted")
            click.echo("interrupted: run again with --resume to finish", err=True)
            raise SystemExit(130) from None
        finally:
            progress.close()
        elapsed = time.monotonic() - progress.started
        counts = surveys.counts(survey_id)
        surveys.finish(survey_id, "complete" if counts["done"] >= total else "partial")
        queries = outcomes.pop("dns_queries", 0)
        scanned = sum(outcomes.values())
        click.echo(f"done: {counts['done']}/{total} domains ({dict(outcomes)} this session); "
                   f"{scanned} domains in {elapsed:.1f} s = {scanned / max(elapsed, 1e-9):.0f} domains/s, "
                   f"{queries} DNS queries = {queries / max(elapsed, 1e-9):.0f} queries/s", err=True)
        if output:
            from souverain.survey.export import write_results

            written = write_results(surveys.results(survey_id), output)
            click.echo(f"wrote {written} rows to {output}", err=True)


class _BadRows:
    """Report the first bad rows with their line numbers, count them all (nothing is kept)."""

    shown = 20

    def __init__(self, path: Path) -> None:
        self.path, self.count = path, 0

    def __call__(self, row) -> None:
        self.count += 1
        if self.count <= self.shown:
            click.echo(f"{self.path}: {row}", err=True)
        elif self.count == self.shown + 1:
            click.echo(f"{self.path}: more bad rows (counted, not shown)", err=True)


def _last_run_of(surveys, input_path: Path) -> str:
    runs = [r for r in surveys.runs() if Path(r["input"]).resolve() == input_path.resolve()]
    if not runs:
        raise UsageError(f"no survey of {input_path} to resume; give --name")
    return str(runs[-1]["id"])


@survey.command("list")
@db_option
@handle_errors
def list_runs(db_url) -> None:
    """List survey runs with their progress."""
    from souverain.report import terminal
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore

    with Store.open(db_url) as store:
        surveys = SurveyStore(store)
        rows = [(r["id"], r["name"], r["created"], r["status"], f"{surveys.counts(r['id'])['done']}/{r['total']}",
                 r["input"]) for r in surveys.runs()]
    click.echo(terminal.render(terminal.table(["id", "name", "created", "status", "done", "input"], rows)))


@survey.command("report")
@click.argument("run_ref", metavar="RUN")
@click.option("--group-by", help="Group attribute (an input column), e.g. region.")
@click.option("--geo", type=click.Choice(("auto", "fr-departements", "fr-regions", "europe", "none")), default="auto",
              show_default=True, help="Map for the choropleth (auto: from the group codes).")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "html")), default=None,
              help="Default: html when -o ends with .html, else table.")
@db_option
@output_option
@lang_option
@handle_errors
def report(run_ref, group_by, geo, fmt, db_url, output, lang) -> None:
    """Aggregate RUN: share of domains reachable by foreign law, by group, provider and country."""
    from souverain.report.survey import survey_html, survey_table
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.kb.base import load_kb
    from souverain.survey.aggregate import GROUP_OF, Aggregate

    fmt = fmt or ("html" if output and output.suffix.lower() in (".html", ".htm") else "table")
    with Store.open(db_url) as store:
        surveys = SurveyStore(store)
        run_row = surveys.find(run_ref)
        kb = load_kb()
        names = {service.id: service.name for service in kb.services.values()}
        aggregate = Aggregate(group_by, names).feed(surveys.results(run_row["id"])).as_dict()
        for entry in aggregate["functions"].values():  # names for the reports, in both languages
            info = kb.records.get(entry["function"])
            entry["name"], entry["name_fr"] = getattr(info, "name", None), getattr(info, "name_fr", None)
        surveyed = set(json.loads(run_row["options"]).get("functions", ()))
        aggregate["functions"] = {k: v for k, v in aggregate["functions"].items() if GROUP_OF.get(k, k) in surveyed}
    data = {"run": {k: run_row[k] for k in ("id", "name", "created", "status", "total", "bad_rows", "kb_version")},
            "aggregate": aggregate}
    if fmt == "json":
        emit(to_json(data), output)
    elif fmt == "html":
        emit(survey_html(data, lang, geo), output)
    else:
        emit(survey_table(data, lang), output)


@survey.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "csv")), default="table", show_default=True)
@db_option
@output_option
@lang_option
@handle_errors
def diff(run_a, run_b, fmt, db_url, output, lang) -> None:
    """List who moved from what to what between RUN_A and RUN_B."""
    from souverain.report import terminal
    from souverain.store.database import Store
    from souverain.store.surveys import SurveyStore
    from souverain.survey.aggregate import diff_rows

    with Store.open(db_url) as store:
        surveys = SurveyStore(store)
        a, b = surveys.find(run_a), surveys.find(run_b)
        rows_a = {r["domain"]: r for r in surveys.results(a["id"])}
        rows_b = {r["domain"]: r for r in surveys.results(b["id"])}
    moves = diff_rows(rows_a, rows_b)
    if fmt == "json":
        emit(to_json({"run_a": a["name"], "run_b": b["name"], "moves": moves}), output)
    elif fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["domain", "function", "before", "after", "foreign_before",
                                                    "foreign_after"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(moves)
        emit(buffer.getvalue(), output)
    else:
        emit(terminal.render(terminal.table(["domain", "function", "before", "after"],
                                            [(m["domain"], m["function"], m["before"], m["after"]) for m in moves],
                                            title=f"{a['name']} -> {b['name']}: {len(moves)} move(s)")), output)
