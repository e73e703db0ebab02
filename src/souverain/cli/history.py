"""``souverain history DOMAIN``: past scans of a domain and what changed between them."""

from __future__ import annotations

from pathlib import Path

import click

from souverain.cli.options import (
    db_option,
    emit,
    format_option,
    handle_errors,
    lang_option,
    output_option,
    to_json,
)
from souverain.report import terminal
from souverain.report.i18n import Translator


@click.command("history")
@click.argument("domain")
@db_option
@format_option("table", "json")
@output_option
@lang_option
@handle_errors
def history_command(domain: str, db_url: str | None, fmt: str, output: Path | None, lang: str) -> None:
    """List stored scans of DOMAIN and the changes between consecutive scans."""
    from souverain.attribute.targets import validate_host
    from souverain.kb.base import load_kb
    from souverain.store.database import Store
    from souverain.store.history import history

    name = validate_host(domain)
    group_of = {fid: info.collected_by for fid, info in load_kb().functions.items()}
    with Store.open(db_url) as store:
        found = history(store, name, group_of)
    scans = found.scans
    if fmt == "json":
        emit(to_json({"domain": name, "scans": scans, "changes": [c.as_dict() for c in found.changes],
                      "not_compared": [n.as_dict() for n in found.not_compared]}), output)
        return
    from souverain.cli.options import display_names

    t = Translator(lang, display_names())
    lines = [t("history.title", domain=name, count=len(scans))]
    for change in found.changes:
        lines.append(t("history.change", function=t.function(change.function), before=", ".join(change.before) or "-",
                       after=", ".join(change.after) or "-", since=change.since, until=change.until))
    for item in found.not_compared:
        lines.append(t("history.not_compared", functions=", ".join(t.function(f) for f in item.functions), since=item.since,
                       until=item.until, before=",".join(item.groups_before), after=",".join(item.groups_after)))
    if len(scans) > 1 and not found.changes:
        lines.append(t("history.no_change"))
    table = terminal.table([t("field.id"), t("field.at"), t("field.verdict"), t("field.kb_version")],
                           [(s["id"], s["started"], t.token("verdict_name", s["verdict"]), s["kb_version"])
                            for s in scans])
    emit("\n".join(lines) + "\n" + terminal.render(table), output)
