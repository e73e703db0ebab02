"""Render a scan result in the requested format: table, json, csv, sarif, html."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from souverain.report import terminal
from souverain.report.formulas import safe_cell
from souverain.report.i18n import DisplayNames, Translator

if TYPE_CHECKING:
    from souverain.model.dependency import Dependency
    from souverain.model.evidence import Evidence
    from souverain.model.scan import Alternative, FunctionSummary, Notice, ScanResult
    from souverain.report.sources import SourceIndex

CSV_COLUMNS = ("domain", "function", "status", "confidence", "tier", "service_id", "service", "operator", "operator_country",
               "controller", "controller_country", "foreign_access", "foreign_laws", "subject", "reason", "evidence",
               "recheck")
RECHECK_SEPARATOR = " ; "  # between the commands of one CSV cell: pasted whole, the shell runs each


def render_scan(result: ScanResult, fmt: str, lang: str = "en", names: DisplayNames | None = None,
                width: int | None = None, verbose: bool = False, sources: SourceIndex | None = None) -> str:
    """``names``: KB display names (``kb.display.display_names``); ``width``: terminal columns
    (default: the terminal's); ``verbose``: the table format adds the re-check commands;
    ``sources``: the KB records' sources (``kb.display.record_sources``), listed by the HTML format."""
    if fmt == "json":
        return json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str)
    if fmt == "csv":
        return scan_csv(result, lang)
    if fmt == "sarif":
        from souverain.report.sarif import scan_sarif

        return json.dumps(scan_sarif(result, Translator(lang)), indent=2, ensure_ascii=False)
    if fmt == "html":
        from souverain.report.html import scan_html

        return scan_html(result, lang, names, sources)
    return scan_table(result, lang, names, width, verbose)


def function_name(summary: FunctionSummary, lang: str) -> str:
    """The function's display name in the report's language (KB data, English by default)."""
    return getattr(summary, f"name_{lang}", None) or summary.name


def reason_text(dep: Dependency, t: Translator) -> str:
    return t(f"reason.{dep.reason}", **dep.reason_params)


def rdap_server_text(dep: Dependency, evidence: Mapping[str, Evidence], t: Translator) -> str | None:
    """For a ``domain.registrar`` dependency, one line: the RDAP server asked and where it came from
    (IANA's bootstrap, the KB's list with its source, or ``--rdap-url``), read from the evidence it
    cites (``evidence``: the domain's items by id); None otherwise, or when no server was known."""
    if dep.function != "domain.registrar":
        return None
    item = next((evidence[e] for e in dep.evidence if e in evidence and evidence[e].source == "rdap"), None)
    origin = item.detail.get("server_from") if item is not None else None
    if item is None or origin not in ("iana-bootstrap", "kb-list", "rdap-url"):
        return None
    detail = item.detail
    url = str(detail.get("url") or "")
    server = detail.get("server") or (url.rsplit("/domain/", 1)[0] + "/" if "/domain/" in url else url)
    key = f"rdap.server.{origin}" if server or origin != "kb-list" else "rdap.server.kb-list-none"
    return t(key, server=server, title=detail.get("server_source_title") or "-",
             source=detail.get("server_source") or "-", date=str(detail.get("server_source_date") or "-")[:10])


def rdap_server_lines(result: ScanResult, t: Translator) -> list[tuple[str, str]]:
    """(domain, ``rdap_server_text``) for each registrar look-up of the result, one per domain."""
    lines: dict[str, str] = {}
    for dep in result.dependencies:
        if dep.function == "domain.registrar" and dep.domain not in lines:
            text = rdap_server_text(dep, result.evidence_of(dep.domain), t)
            if text:
                lines[dep.domain] = text
    return list(lines.items())


def notice_text(notice: Notice, t: Translator) -> str:
    return t(f"notice.{notice.id}", **notice.params)


def function_names(result: ScanResult, t: Translator) -> dict[str, str]:
    """Function id -> display name, from the KB names given, else the names the result carries."""
    carried = {f.function: function_name(f, t.lang) for f in result.summary.functions}
    ids = {*carried, *(d.function for d in result.dependencies), *result.summary.alternatives}
    return {fid: t.function(fid, carried.get(fid)) for fid in ids}


def alternative_text(alt: Alternative, t: Translator) -> str:
    """What an alternative is, in the report's language: controller country, licence, hosting
    (the KB's own note, in English, is added in English reports only)."""
    text = t("alternative.description", country=t.country(alt.country),
             open_source=t("alternative.open_source" if alt.open_source else "alternative.proprietary"),
             hosting=t("alternative.self_hostable") if alt.self_hostable else "")
    return f"{text} {alt.fact}" if t.lang == "en" and alt.fact else text


def verdict_lines(result: ScanResult, t: Translator, short_laws: bool = False) -> list[str]:
    """``short_laws``: the laws by their short names (the HTML report explains them in its glossary)."""
    summary = result.summary
    fnames = function_names(result, t)
    functions = ", ".join(fnames.get(f, f) for f in summary.critical_exposed or summary.critical_unknown)
    missing = summary.nonexistent or ()
    # a resolver that answered nothing explains every unknown below: say it first
    lines = [notice_text(n, t) for n in result.notices if n.id == "resolver-silent"]
    if missing:
        lines.append(t("verdict.nonexistent", domains=", ".join(missing)))
    if len(missing) < len(result.scan.domains):  # the verdict of the domains that exist
        lines.append(t(f"verdict.{summary.verdict}", functions=functions))
    if summary.laws:
        lines.append(t("verdict.laws", laws=", ".join(f"{t.law(law.id, short_laws, law.name)} ({t.country(law.country)})"
                                                      for law in summary.laws)))
    registered = summary.counts.by_tier.get("registered", 0)
    if registered and summary.min_confidence != "verified":
        lines.append(t("verdict.registered_only", count=registered))
    if summary.min_confidence != "inferred":
        lines.append(t("survey.tier_filter", tiers=tier_names(summary.min_confidence, t)))
    score = summary.score
    lines.append(t("verdict.score", score=score.exposure_pct, worst=score.exposure_worst_case_pct))
    return lines


def tier_names(minimum: str, t: Translator) -> str:
    """The tiers counted at ``minimum``, by name: "verified, by registration"."""
    from souverain.model.dependency import TIERS

    return ", ".join(t.token("tier", tier) for tier in TIERS[: TIERS.index(minimum) + 1])  # type: ignore[arg-type]


def tier_text(dep: Dependency, t: Translator) -> str:
    """The tier as a reader sees it, with "ownership not researched" on registration-only answers."""
    text = t.token("tier", dep.tier)
    return f"{text} ({t('tier.note.registered')})" if dep.tier == "registered" else text


def scan_table(result: ScanResult, lang: str, names: DisplayNames | None = None, width: int | None = None,
               verbose: bool = False) -> str:
    t = Translator(lang, names)
    width = width or terminal.terminal_width()
    summary = result.summary
    fnames = function_names(result, t)
    several = len(result.scan.domains) > 1
    parts, dropped = [], False
    # columns left out first when a table is wider than the terminal (--wide keeps them all)
    table, cut = terminal.fit(
        [t("field.function"), t("field.state"), t("field.services"), t("field.controllers"), t("field.foreign_laws")],
        [(function_name(f, lang), t(f"state.{f.state}"), ", ".join(f.services) or "-", ", ".join(f.controllers) or "-",
          t.laws(f.laws)) for f in summary.functions],
        width, drop=(3,), title=t("heading.functions"))
    parts.append(table)
    dropped |= cut
    table, cut = terminal.fit(
        [t("field.domain"), t("field.function"), t("field.status"), t("field.service"), t("field.controller"),
         t("field.foreign_laws"), t("field.confidence"), t("field.tier"), t("field.reason"), t("heading.evidence")],
        [(d.domain, fnames.get(d.function, d.function), t(f"status.{d.status}"), d.service.name if d.service else "-",
          f"{d.controller.name} ({d.controller.country})" if d.controller else "-",
          t.laws(d.foreign_laws), t.token("confidence", d.confidence), t.token("tier", d.tier), reason_text(d, t),
          " ".join(d.evidence))
         for d in result.dependencies],
        width, drop=(9, 6, 4) if several else (9, 6, 0, 4), title=t("heading.dependencies"))
    parts.append(table)
    dropped |= cut
    rows = [(fnames.get(function, function), alt.name, ", ".join(alt.replaces_found) or "-",
             f"{alt.vendor} ({t.country(alt.country)})", alt.website)
            for function, alts in summary.alternatives.items() for alt in alts]
    if rows:
        table, cut = terminal.fit([t("field.function"), t("field.alternative"), t("field.replaces"), t("field.vendor"),
                                   t("field.website")],
                                  rows, width, drop=(4,), title=t("heading.alternatives"))
        parts.append(table)
        dropped |= cut
    failures = [(domain, item.query, item.status + (f" ({item.error})" if item.error else ""))
                for domain, items in result.failures.items() for item in items]
    if failures:
        parts.append(terminal.table([t("field.domain"), t("field.query"), t("field.status")], failures,
                                    title=t("heading.failures")))
    text = terminal.wrap(verdict_lines(result, t), width) + "\n" + terminal.render(*parts, width=width)
    if result.notices:  # sentences, wrapped on word boundaries, never folded in a cell
        text += f"{t('heading.notices')}\n" + terminal.wrap(
            [f"{terminal.printable(n.domain or '*')}: {terminal.printable(notice_text(n, t))}" for n in result.notices],
            width, indent="  ")
    servers = rdap_server_lines(result, t)
    if servers:  # which RDAP server gave each registrar answer, one line per domain
        text += f"{t('heading.rdap_servers')}\n" + terminal.wrap(
            [f"{terminal.printable(domain)}: {terminal.printable(line)}" for domain, line in servers], width, indent="  ")
    hints = [t("hint.wide", width=width)] if dropped else []
    commands = recheck_lines(result)
    if commands and verbose:
        text += f"\n{t('field.recheck')}\n" + "\n".join(commands) + "\n"
    elif commands:
        hints.append(t("hint.recheck"))
    return text + terminal.wrap(hints, width)


def cited_evidence(result: ScanResult, domain: str) -> list[Evidence]:
    """The evidence items of ``domain`` that its dependencies cite, in collection order."""
    cited = {e for d in result.dependencies if d.domain == domain for e in d.evidence}
    return [item for item in result.evidence.get(domain, ()) if item.id in cited]


def recheck_lines(result: ScanResult) -> list[str]:
    """``  e12  $ dig ...`` per cited evidence item, under its domain: plain lines, never folded,
    so each command can be copied whole."""
    lines = []
    for domain in result.evidence:
        items = [(item, command) for item in cited_evidence(result, domain) if (command := item.recheck())]
        if items:
            lines.append(f"{domain}:")
            lines += [f"  {item.id:<5} $ {terminal.printable(command)}" for item, command in items]
    return lines


def recheck_commands(result: ScanResult, dep: Dependency, evidence: dict[str, Evidence] | None = None) -> list[str]:
    """The re-check commands of the evidence a dependency cites, in its order (``evidence``: the
    domain's evidence by id, when the caller has it)."""
    items = evidence if evidence is not None else result.evidence_of(dep.domain)
    return [command for e in dep.evidence if e in items and (command := items[e].recheck())]


def scan_csv(result: ScanResult, lang: str) -> str:
    t = Translator(lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    by_domain = {domain: result.evidence_of(domain) for domain in result.evidence}
    for d in result.dependencies:
        service, operator, controller = d.service, d.operator, d.controller
        writer.writerow([_csv_safe(str(cell)) for cell in (
            d.domain, d.function, d.status, d.confidence, d.tier, service.id if service else "",
            service.name if service else "", operator.name if operator else "",
            operator.country if operator else "", controller.name if controller else "",
            controller.country if controller else "",
            "" if d.foreign_access is None else str(d.foreign_access).lower(),
            " ".join(d.foreign_laws), d.subject or "", reason_text(d, t), " ".join(d.evidence),
            RECHECK_SEPARATOR.join(recheck_commands(result, d, by_domain.get(d.domain, {}))),
        )])
    return buffer.getvalue()


def _csv_safe(value: str) -> str:
    """One line per row, whatever remote data holds (control characters escaped), and no
    spreadsheet formula (CSV injection, ``report.formulas``)."""
    return str(safe_cell(terminal.printable(value)))
