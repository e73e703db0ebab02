"""Render a scan result in the requested format: table, json, csv, sarif, html."""

from __future__ import annotations

import csv
import io
import json

from souverain.report import terminal
from souverain.report.i18n import Translator

CSV_COLUMNS = ("domain", "function", "status", "confidence", "service_id", "service", "operator", "operator_country",
               "controller", "controller_country", "foreign_access", "foreign_laws", "subject", "reason", "evidence",
               "recheck")
RECHECK_SEPARATOR = " ; "  # between the commands of one CSV cell: pasted whole, the shell runs each


def render_scan(result: dict, fmt: str, lang: str = "en") -> str:
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False, default=str)
    if fmt == "csv":
        return scan_csv(result, lang)
    if fmt == "sarif":
        from souverain.report.sarif import scan_sarif

        return json.dumps(scan_sarif(result, Translator(lang)), indent=2, ensure_ascii=False)
    if fmt == "html":
        from souverain.report.html import scan_html

        return scan_html(result, lang)
    return scan_table(result, lang)


def function_name(summary: dict, lang: str) -> str:
    """The function's display name in the report's language (KB data, English by default)."""
    return summary.get(f"name_{lang}") or summary["name"]


def reason_text(dep: dict, t: Translator) -> str:
    return t(f"reason.{dep['reason']}", **dep.get("reason_params", {}))


def notice_text(notice: dict, t: Translator) -> str:
    return t(f"notice.{notice['id']}", **notice.get("params", {}))


def verdict_lines(result: dict, t: Translator) -> list[str]:
    summary = result["summary"]
    functions = ", ".join(summary["critical_exposed"] or summary["critical_unknown"])
    missing = summary.get("nonexistent", [])
    # a resolver that answered nothing explains every unknown below: say it first
    lines = [notice_text(n, t) for n in result.get("notices", []) if n["id"] == "resolver-silent"]
    if missing:
        lines.append(t("verdict.nonexistent", domains=", ".join(missing)))
    if len(missing) < len(result["scan"]["domains"]):  # the verdict of the domains that exist
        lines.append(t(f"verdict.{summary['verdict']}", functions=functions))
    if summary["laws"]:
        lines.append(t("verdict.laws", laws=", ".join(f"{law['name']} ({law['country']})" for law in summary["laws"])))
    score = summary["score"]
    lines.append(t("verdict.score", score=score["exposure_pct"], worst=score["exposure_worst_case_pct"]))
    return lines


def scan_table(result: dict, lang: str) -> str:
    t = Translator(lang)
    summary = result["summary"]
    parts = []
    parts.append(terminal.table(
        [t("field.function"), t("field.state"), t("field.services"), t("field.controllers"), t("field.foreign_laws")],
        [(function_name(f, lang), t(f"state.{f['state']}"), ", ".join(f["services"]) or "-", ", ".join(f["controllers"]) or "-",
          ", ".join(f["laws"]) or "-") for f in summary["functions"]],
        title=t("heading.functions"),
    ))
    parts.append(terminal.table(
        [t("field.domain"), t("field.function"), t("field.status"), t("field.service"), t("field.controller"),
         t("field.foreign_laws"), t("field.confidence"), t("field.reason"), t("heading.evidence")],
        [(d["domain"], d["function"], t(f"status.{d['status']}"), (d.get("service") or {}).get("name", "-"),
          f"{d['controller']['name']} ({d['controller']['country']})" if d.get("controller") else "-",
          ", ".join(d["foreign_laws"]) or "-", d["confidence"], reason_text(d, t), " ".join(d["evidence"]))
         for d in result["dependencies"]],
        title=t("heading.dependencies"),
    ))
    notices = result.get("notices", [])
    if notices:
        parts.append(terminal.table([t("field.domain"), t("field.notice")],
                                    [(n["domain"] or "*", notice_text(n, t)) for n in notices],
                                    title=t("heading.notices")))
    rows = [(function, alt["name"], f"{alt['vendor']} ({alt['country']})", alt["website"])
            for function, alts in summary["alternatives"].items() for alt in alts]
    if rows:
        parts.append(terminal.table([t("field.function"), t("field.alternative"), t("field.vendor"), "web"], rows,
                                    title=t("heading.alternatives")))
    failures = [(domain, item["query"], item["status"] + (f" ({item['error']})" if item.get("error") else ""))
                for domain, items in result.get("failures", {}).items() for item in items]
    if failures:
        parts.append(terminal.table([t("field.domain"), t("field.query"), t("field.status")], failures,
                                    title=t("heading.failures")))
    text = "\n".join(verdict_lines(result, t)) + "\n\n" + terminal.render(*parts, width=160)
    commands = recheck_lines(result)
    return text + (f"\n{t('field.recheck')}\n" + "\n".join(commands) + "\n" if commands else "")


def cited_evidence(result: dict, domain: str) -> list[dict]:
    """The evidence items of ``domain`` that its dependencies cite, in collection order."""
    cited = {e for d in result["dependencies"] if d["domain"] == domain for e in d["evidence"]}
    return [item for item in result["evidence"].get(domain, []) if item["id"] in cited]


def recheck_lines(result: dict) -> list[str]:
    """``  e12  $ dig ...`` per cited evidence item, under its domain: plain lines, never folded,
    so each command can be copied whole."""
    lines = []
    for domain in result["evidence"]:
        items = [item for item in cited_evidence(result, domain) if item.get("recheck")]
        if items:
            lines.append(f"{domain}:")
            lines += [f"  {item['id']:<5} $ {terminal.printable(item['recheck'])}" for item in items]
    return lines


def recheck_commands(result: dict, dep: dict) -> list[str]:
    """The re-check commands of the evidence a dependency cites, in its order."""
    items = {item["id"]: item for item in result["evidence"].get(dep["domain"], [])}
    return [items[e]["recheck"] for e in dep["evidence"] if e in items and items[e].get("recheck")]


def scan_csv(result: dict, lang: str) -> str:
    t = Translator(lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in result["dependencies"]:
        service, operator, controller = d.get("service") or {}, d.get("operator") or {}, d.get("controller") or {}
        writer.writerow([_csv_safe(str(cell)) for cell in (
            d["domain"], d["function"], d["status"], d["confidence"], service.get("id", ""), service.get("name", ""),
            operator.get("name", ""), operator.get("country", ""), controller.get("name", ""),
            controller.get("country", ""), "" if d["foreign_access"] is None else str(d["foreign_access"]).lower(),
            " ".join(d["foreign_laws"]), d.get("subject") or "", reason_text(d, t), " ".join(d["evidence"]),
            RECHECK_SEPARATOR.join(recheck_commands(result, d)),
        )])
    return buffer.getvalue()


def _csv_safe(value: str) -> str:
    """One line per row, whatever remote data holds (control characters escaped), and no
    spreadsheet formula (CSV injection): a cell starting with = + - @ gets a leading quote."""
    value = terminal.printable(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
