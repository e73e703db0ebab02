"""``souverain scan DOMAIN...``: an organisation's dependencies, who controls them, which laws reach them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from souverain.cli.options import (
    at_option,
    db_option,
    dns_timeout_option,
    emit,
    format_option,
    functions_option,
    handle_errors,
    lang_option,
    min_confidence_option,
    nameserver_option,
    output_option,
    parse_functions,
    quiet_option,
    rdap_qps_option,
    rdap_url_option,
    to_json,
    wide_option,
)
from souverain.collect.dns import parse_nameserver
from souverain.errors import UsageError

if TYPE_CHECKING:
    from souverain.model.scan import ScanResult

FORMATS = ("table", "json", "html", "csv", "sarif")
FAIL_ON = ("exposed", "partly-exposed", "undetermined", "unknown")


@click.command("scan")
@click.argument("domains", nargs=-1, required=True, metavar="DOMAIN...")
@nameserver_option
@dns_timeout_option(3.0)
@functions_option()
@rdap_url_option
@rdap_qps_option
@click.option("--no-web-fetch", is_flag=True, help="Do not fetch the home page (DNS only).")
@click.option("--connect-to", multiple=True, metavar="H1:P1:H2:P2",
              help="Like curl: connect to H2:P2 when fetching H1:P1 (e.g. a loopback test server).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), help="Extra trusted CA certificates (PEM).")
@click.option("--browser", "use_browser", is_flag=True,
              help="Also run the home page in headless Chromium and attribute what its scripts, style sheets "
                   "and frames load (opt-in, a few seconds per domain).")
@click.option("--chromium", metavar="PATH", help="Chromium executable for --browser (default /usr/bin/chromium).")
@click.option("--browser-timeout", type=click.FloatRange(2, 300), default=15.0, show_default=True,
              help="Seconds per page in the browser, start-up included.")
@click.option("--browser-settle", type=click.FloatRange(0, 60), default=2.0, show_default=True,
              help="After the page's load event, stop once its network was quiet this many seconds.")
@click.option("--inventory", "inventories", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Also attribute the organisation's own inventory (SaaS list, Terraform, Kubernetes, SBOM, HAR: "
                   "see `souverain inventory`), merged into the report under the first domain. Repeatable.")
@at_option
@format_option(*FORMATS)
@output_option
@min_confidence_option
@click.option("--fail-on", type=click.Choice(FAIL_ON),
              help="Exit 3 when the verdict reaches this level (unknown: any unknown dependency).")
@db_option
@click.option("--no-store", is_flag=True, help="Do not store the scan.")
@quiet_option
@click.option("--verbose", "-v", is_flag=True, help="Table format: add the re-check command (dig, curl) of each "
              "piece of evidence.")
@wide_option
@lang_option
@handle_errors
def scan_command(domains, nameservers, timeout, functions_text, rdap_url, rdap_qps, no_web_fetch, connect_to, ca_file, use_browser,
                 chromium, browser_timeout, browser_settle, inventories, at, fmt, output: Path | None, min_tier,
                 fail_on, db_url, no_store, quiet, verbose, wide, lang) -> None:
    """Scan the domains of ONE organisation: mail, DNS, web hosting, CDN, CA, third parties, SaaS.

    Each dependency is attributed to a service, its operator, the ultimate controller at --at DATE
    and the laws that reach it, with evidence you can re-check with dig or curl.
    """
    from souverain.kb.base import load_kb
    from souverain.kb.ipasn import IPASNTable
    from souverain.report.render import render_scan
    from souverain.scan import ScanOptions, normalise_domains, scan_domains

    targets = normalise_domains(list(domains))
    functions = parse_functions(functions_text)
    options = ScanOptions(
        functions=functions,
        nameservers=[parse_nameserver(ns) for ns in nameservers] or None,
        timeout=timeout, at=at, min_tier=min_tier, fetch_web=not no_web_fetch, connect_to=list(connect_to), ca_file=ca_file,
        browser=_browser_options(use_browser, chromium, browser_timeout, browser_settle, no_web_fetch, functions),
        rdap_url=rdap_url, rdap_qps=rdap_qps,
    )
    kb = load_kb()
    found = None
    if inventories:  # read first: a bad file stops the command before any query is sent
        from souverain.inventory.run import InventoryOptions, run_inventory

        found = run_inventory(kb, list(inventories), InventoryOptions(org=targets[0], at=at))
    ip_table = IPASNTable.load()
    progress = _progress(len(targets), quiet)
    try:
        result = asyncio.run(scan_domains(kb, targets, options, ip_table, progress.advance if progress else None))
    finally:
        if progress:
            progress.close()
    _warn_if_resolver_silent(result)
    if found is not None:
        from souverain.inventory.merge import merge

        result = merge(kb, result, found)
    if not no_store:
        import dataclasses

        from souverain.store.database import Store

        with Store.open(db_url) as store:
            stored_id = store.save_scan(result)
        result = dataclasses.replace(result, scan=dataclasses.replace(result.scan, stored_id=stored_id))
    from souverain.cli.options import display_names, kb_sources
    from souverain.report.terminal import terminal_width

    emit(render_scan(result, fmt, lang, display_names(), terminal_width(wide), verbose,
                     sources=kb_sources() if fmt == "html" else None), output, quiet)
    if fail_on and _reached(result, fail_on):
        sys.exit(3)


def _browser_options(use_browser, chromium, timeout, settle, no_web_fetch, functions):
    """BrowserOptions for --browser (None without it); a missing Chromium is reported here and
    again, per domain, as evidence: the scan itself goes on."""
    if not use_browser:
        if chromium:
            raise UsageError("--chromium is only used with --browser")
        return None
    if no_web_fetch or "web" not in functions:
        raise UsageError("--browser runs the home page the web check fetches: drop --no-web-fetch "
                         "and keep web in --functions")
    from souverain.collect.chromium import DEFAULT_CHROMIUM, BrowserError, find_chromium
    from souverain.collect.page_run import BrowserOptions

    options = BrowserOptions(chromium=chromium or DEFAULT_CHROMIUM, timeout=timeout, settle=settle)
    try:
        find_chromium(options.chromium)
    except BrowserError as exc:
        click.echo(f"warning: {exc}; the pages will not be run in a browser", err=True)
    return options


def _warn_if_resolver_silent(result: ScanResult) -> None:
    """Every query timed out or hit a network error: say it on stderr (the scan still exits 0, its
    result says unknown for every function: a resolver failure is data, like a target's)."""
    silent = next((n for n in result.notices if n.id == "resolver-silent"), None)
    if silent:
        servers = str(silent.params["nameservers"])
        noun = "nameservers" if "," in servers else "nameserver"
        click.echo(f"warning: no answer from {noun} {servers} for any query: check the network or --nameserver",
                   err=True)


def _reached(result: ScanResult, level: str) -> bool:
    verdict = result.summary.verdict
    if level == "unknown":
        return result.summary.counts.unknown > 0 or verdict != "not-exposed"
    order = ["not-exposed", "undetermined", "partly-exposed", "exposed"]
    return order.index(verdict) >= order.index(level)


class _Progress:
    """A rich progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("scanning", total=total)

    def advance(self, domain: str) -> None:
        self.bar.update(self.task, advance=1, description=f"scanned {domain}")

    def close(self) -> None:
        self.bar.stop()


def _progress(total: int, quiet: bool) -> _Progress | None:
    if quiet or not sys.stderr.isatty():
        return None
    return _Progress(total)


__all__ = ["scan_command", "to_json"]
