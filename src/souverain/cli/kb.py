"""``souverain kb``: validate, list, show, search and count knowledge-base records."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from souverain.cli.options import (
    check_output_path,
    emit,
    format_option,
    handle_errors,
    lang_option,
    output_option,
    parse_date,
    to_json,
)
from souverain.errors import KBValidationError, UsageError
from souverain.kb.base import load_kb
from souverain.kb.problems import Problem, line_of
from souverain.kb.schema import KINDS
from souverain.kb.search import search as kb_search
from souverain.report import terminal
from souverain.report.i18n import Translator

KIND_CHOICE = click.Choice(sorted(KINDS))


@click.group()
def kb() -> None:
    """Inspect and check the knowledge base (entities, services, laws, alternatives)."""


@kb.command()
@click.option("--path", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Validate the KB folder at PATH instead of the bundled one.")
@click.option("--strict", is_flag=True,
              help="Also fail on ownership resting on weak sources (neither one primary nor two independent ones).")
@format_option("table", "json")
@lang_option
@handle_errors
def validate(path: Path | None, strict: bool, fmt: str, lang: str) -> None:
    """Check schemas, references, ownership cycles, duplicate ids and fingerprints (exit 2 on problems)."""
    from souverain.kb.sources import ownership_problems, weak_sources
    from souverain.kb.translations import untranslated

    t = Translator(lang)
    try:
        knowledge = load_kb(path)
        if strict:
            short = [*ownership_problems(knowledge), *weak_sources(knowledge)]
            problems = [*(_source_problem(knowledge, item) for item in short), *untranslated(knowledge)]
            if problems:
                raise KBValidationError(problems)
    except KBValidationError as exc:
        if fmt == "json":
            click.echo(to_json({"valid": False, "problems": [p.as_dict() for p in exc.problems]}))
        else:
            for problem in exc.problems:
                click.echo(str(problem))
            # on the same stream as the problems: a summary sent to stderr was shown glued to the
            # last problem line wherever both streams are captured together
            click.echo(t("kb.invalid", count=len(exc.problems)))
        raise SystemExit(2) from None
    if fmt == "json":
        click.echo(to_json({"valid": True, "records": len(knowledge.records), "kb_version": knowledge.version}))
    else:
        click.echo(t("kb.valid", records=len(knowledge.records), version=knowledge.version))


def _source_problem(knowledge: Any, item: Any) -> Problem:
    raw = knowledge.sources[item.record]
    return Problem(raw.shown_path, line_of(raw.lines, ("sources",)), "sources", item.message)


def _summary(knowledge, rid: str) -> dict:
    record = knowledge.records[rid]
    kind = knowledge.kinds[rid]
    extra = ""
    if kind == "entities":
        extra = record.country
    elif kind == "services":
        extra = f"{record.category} / {record.operator}"
    elif kind == "laws":
        extra = record.country
    elif kind == "alternatives":
        extra = f"{','.join(record.categories)} / {record.hq_country}"
    return {"id": rid, "kind": kind.rstrip("s") if kind != "entities" else "entity", "kinds": kind,
            "name": record.name, "detail": extra}


def _rows_out(knowledge, ids: list[str], fmt: str, output: Path | None, t: Translator) -> None:
    rows = [_summary(knowledge, rid) for rid in ids]
    if fmt == "json":
        emit(to_json([{k: v for k, v in r.items() if k != "kinds"} for r in rows]), output)
        return
    emit(terminal.render(terminal.table(
        [t("field.id"), t("field.kind"), t("field.name"), t("field.detail")],
        [(r["id"], t.token("kind", r["kinds"]), r["name"], r["detail"]) for r in rows],
    )), output)


@kb.command("list")
@click.option("--kind", type=KIND_CHOICE, help="Only records of this kind.")
@format_option("table", "json")
@output_option
@lang_option
@handle_errors
def list_records(kind: str | None, fmt: str, output: Path | None, lang: str) -> None:
    """List records (id, kind, name)."""
    knowledge = load_kb()
    ids = sorted(rid for rid, k in knowledge.kinds.items() if kind is None or k == kind)
    _rows_out(knowledge, ids, fmt, output, Translator(lang))


@kb.command()
@click.argument("record_id")
@format_option("table", "json")
@output_option
@lang_option
@handle_errors
def show(record_id: str, fmt: str, output: Path | None, lang: str) -> None:
    """Show one record with all its fields and sources (exit 2 if unknown)."""
    t = Translator(lang)
    knowledge = load_kb()
    record = knowledge.get(record_id)
    if record is None:
        click.echo(t("kb.not_found", id=record_id), err=True)
        raise SystemExit(2)
    data = {"kind": knowledge.kinds[record_id], **record.model_dump(mode="json", exclude_defaults=True)}
    if fmt == "json":
        emit(to_json(data), output)
        return
    import yaml

    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    emit(f"# {knowledge.sources[record_id].shown_path}\n{text}", output)


@kb.command()
@click.argument("text")
@click.option("--kind", type=KIND_CHOICE, help="Only records of this kind.")
@format_option("table", "json")
@output_option
@lang_option
@handle_errors
def search(text: str, kind: str | None, fmt: str, output: Path | None, lang: str) -> None:
    """Find records whose id, name, aliases or fingerprints contain TEXT (case-insensitive)."""
    t = Translator(lang)
    knowledge = load_kb()
    hits = kb_search(knowledge, text, kind)
    if not hits and fmt == "table":
        click.echo(t("kb.no_results", text=text), err=True)
        return
    _rows_out(knowledge, hits, fmt, output, t)


@kb.command()
@format_option("table", "json")
@output_option
@lang_option
@handle_errors
def stats(fmt: str, output: Path | None, lang: str) -> None:
    """Count records by kind, services by category, entities by country, fingerprints by kind."""
    from souverain.kb import sources

    t = Translator(lang)
    knowledge = load_kb()
    data: dict[str, Any] = {
        "kb_version": knowledge.version,
        "records": dict(sorted(Counter(knowledge.kinds.values()).items())),
        "services_by_category": dict(sorted(Counter(s.category for s in knowledge.services.values()).items())),
        "entities_by_country": dict(Counter(e.country for e in knowledge.entities.values()).most_common()),
        "alternatives_by_category": dict(sorted(Counter(
            c for a in knowledge.alternatives.values() for c in a.categories).items())),
        "fingerprints": dict(sorted(Counter(
            kind for s in knowledge.services.values() for kind, _ in s.fingerprints.items()).items())),
        "ownership_edges": sum(len(e.owners) for e in knowledge.entities.values()),
        "records_with_unverified_facts": sum(1 for r in knowledge.records.values() if r.unverified),
        "sources_by_kind": sources.kinds_count(knowledge),
        "ownership_short_of_sources": [item.record for item in sources.ownership_problems(knowledge)],
        "weak_sources": [f"{item.record}: {item.message}" for item in sources.weak_sources(knowledge)],
    }
    if fmt == "json":
        emit(to_json(data), output)
        return
    tables = []
    shown = {"records": lambda kind: t.token("kind", kind), "entities_by_country": t.country,
             "services_by_category": lambda category: t.token("category", category),
             "alternatives_by_category": lambda category: t.token("alt_category", category),
             "sources_by_kind": lambda kind: t.token("source_kind", kind)}
    for key, values in data.items():
        if isinstance(values, dict):
            rows = sorted(values.items(), key=lambda kv: -kv[1])
            name = shown.get(key, str)
            tables.append(terminal.table([t(f"stats.{key}"), t("field.count")], [(name(k), v) for k, v in rows]))
        elif isinstance(values, list):
            tables.append(terminal.key_values([(t(f"stats.{key}"), len(values))]))
            if values:
                tables.append(terminal.table([t(f"stats.{key}")], [(value,) for value in values]))
        else:
            tables.append(terminal.key_values([(t(f"stats.{key}"), values)]))
    emit(terminal.render(*tables), output)


def _source_dir(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from souverain.kb.ipasn import SOURCE_FILES

    if value is None or ctx.resilient_parsing:
        return value
    missing = [name for name in SOURCE_FILES if not (value / name).is_file()]
    if missing:
        raise click.BadParameter(f"{value} lacks {' and '.join(missing)} (expected {', '.join(SOURCE_FILES)}: "
                                 "the @ip-location-db/asn CSV layout)")
    return value


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else parse_date(value).isoformat()


def _package(folder: Path, default: str) -> dict[str, str]:
    """Name, version and declared licence of an unpacked npm package (``npm pack``), when present."""
    import json

    try:
        data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"package": default, "path": str(folder)}
    found = {"package": str(data.get("name") or default), "version": str(data.get("version") or "")}
    if data.get("license"):
        found["package_licence"] = str(data["license"])
    return found


@kb.command("update-rdap")
@click.option("--from", "source", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              metavar="FILE", help="IANA's RDAP bootstrap for domain names (https://data.iana.org/rdap/dns.json).")
@click.option("--out", type=click.Path(path_type=Path), default=None, metavar="FILE",
              callback=lambda _c, _p, v: v if v is None else check_output_path(v),
              help="Where to write it (default: the bundled file).")
@lang_option
@handle_errors
def update_rdap(source: Path, out: Path | None, lang: str) -> None:
    """Replace the bundled RDAP bootstrap (the RDAP server of every TLD, for the registrar look-up)
    with a checked copy of IANA's dns.json; prints its publication date and counts, and on standard
    error one line per TLD of the KB's lists/rdap-servers.yaml that the new file now covers (the
    bootstrap wins over the list: remove those entries)."""
    from souverain.collect.rdap import kb_servers, parse_bootstrap
    from souverain.kb import rdapboot

    document = rdapboot.read_bootstrap(source)
    summary = rdapboot.write_bootstrap(document, out or rdapboot.BUNDLED)
    served, listed = parse_bootstrap(document), kb_servers(load_kb())
    covered = sorted(tld for tld in listed if tld in served)
    click.echo(to_json(summary))
    t = Translator(lang)
    for tld in covered:
        click.echo(t("kb.rdap.now_in_bootstrap", tld=tld, server=served[tld],
                     listed=listed[tld].url or t("kb.rdap.listed_none")), err=True)


@kb.command("update-ipasn")
@click.option("--from", "source_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              callback=_source_dir, help="Folder with asn-ipv4.csv and asn-ipv6.csv (the @ip-location-db/asn layout).")
@click.option("--countries", "country_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, metavar="DIR",
              help="Folder with asn-country-ipv4.csv and asn-country-ipv6.csv (the @ip-location-db/asn-country "
                   "layout; default: the --from folder).")
@click.option("--date", "data_date", required=True, callback=_iso_date, metavar="DATE",
              help="Date of the data (YYYY-MM-DD), recorded in the table.")
@click.option("--country-date", callback=_iso_date, metavar="DATE", default=None,
              help="Date of the country data (default: --date).")
@click.option("--out", type=click.Path(path_type=Path), default=None, metavar="FILE",
              callback=lambda _c, _p, v: v if v is None else check_output_path(v),
              help="Where to write the table (default: the bundled file).")
@handle_errors
def update_ipasn(source_dir: Path, country_dir: Path | None, data_date: str, country_date: str | None,
                 out: Path | None) -> None:
    """Rebuild the IP-to-ASN table and each AS's registration country from CSV files, check the
    result and record the data's dates (see NOTICE for the data's licences)."""
    from souverain.kb import ipasn

    country_dir = country_dir or source_dir
    missing = [name for name in ipasn.COUNTRY_FILES if not (country_dir / name).is_file()]
    if missing:
        raise UsageError(f"--countries: {country_dir} lacks {' and '.join(missing)} (the "
                         "@ip-location-db/asn-country CSV layout; see NOTICE)")
    v4, v6 = (source_dir / name for name in ipasn.SOURCE_FILES)
    c4, c6 = (country_dir / name for name in ipasn.COUNTRY_FILES)
    meta = ipasn.build(
        v4, v6, out or ipasn.BUNDLED,
        {**_package(source_dir, "@ip-location-db/asn"), "date": data_date, "licence": "CC-BY-4.0"},
        countries=(c4, c6),
        country_source={**_package(country_dir, "@ip-location-db/asn-country"), "date": country_date or data_date,
                        "licence": "CC-BY-4.0"},  # NRO data: CC BY 4.0 whatever the package declares (NOTICE)
    )
    click.echo(to_json(meta["counts"]))
