"""``souverain inventory FILE...``: an organisation's own inventories (SaaS list, Terraform,
Kubernetes, SBOM, HAR) attributed like a scan: service, operator, controller, laws, evidence."""

from __future__ import annotations

from pathlib import Path

import click

from souverain.cli.options import (
    at_option,
    display_names,
    emit,
    format_option,
    handle_errors,
    kb_sources,
    lang_option,
    output_option,
    wide_option,
)
from souverain.inventory.items import KINDS

FORMATS = ("table", "json", "html", "csv", "sarif")


@click.command("inventory")
@click.argument("files", nargs=-1, required=True, metavar="FILE...",
                type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--org", default="inventory", show_default=True, metavar="NAME",
              help="The organisation the inventories belong to (the report's subject).")
@click.option("--kind", type=click.Choice(KINDS), help="The kind of every FILE (default: told from each file's content).")
@click.option("--name-column", metavar="NAME", help="SaaS list: the column holding the application's name.")
@click.option("--vendor-column", metavar="NAME", help="SaaS list: the column holding the vendor's name.")
@click.option("--domain-column", metavar="NAME", help="SaaS list: the column holding the domain or URL.")
@click.option("--category-column", metavar="NAME",
              help="SaaS list: the column holding the category (CRM, HR...; default: a column named so).")
@click.option("--sheet", metavar="NAME", help="SaaS list in XLSX/ODS: the sheet to read (default: the first).")
@at_option
@format_option(*FORMATS)
@output_option
@wide_option
@lang_option
@handle_errors
def inventory_command(files, org, kind, name_column, vendor_column, domain_column, category_column, sheet, at, fmt,
                      output: Path | None, wide, lang) -> None:
    """Attribute what an organisation's own inventories name: SaaS/vendor lists (CSV, XLSX, ODS), Terraform
    `terraform show -json`, Kubernetes manifests and rendered Helm output, CycloneDX and SPDX JSON
    SBOMs, and HAR files recorded in a browser.

    Each item becomes a dependency (function, service, operator, controller at --at DATE, laws)
    citing the file and line or JSON pointer it came from; what the knowledge base cannot
    identify is listed as unknown, with what would identify it.
    """
    from souverain.inventory.run import InventoryOptions, run_inventory
    from souverain.inventory.saas_list import Columns
    from souverain.kb.base import load_kb
    from souverain.report.render import render_scan
    from souverain.report.terminal import terminal_width

    options = InventoryOptions(org=org, at=at, kind=kind,
                               columns=Columns(name_column, vendor_column, domain_column, sheet, category_column))
    result = run_inventory(load_kb(), list(files), options)
    emit(render_scan(result, fmt, lang, display_names(), terminal_width(wide),
                     sources=kb_sources() if fmt == "html" else None), output)
