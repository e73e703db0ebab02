"""``souverain who TARGET``: service, operator, ownership chain, laws and sources of one target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from souverain.cli.options import (
    at_option,
    emit,
    format_option,
    handle_errors,
    lang_option,
    output_option,
    to_json,
    wide_option,
)
from souverain.kb.base import load_kb
from souverain.report import terminal
from souverain.report.i18n import Translator
from souverain.version import OUTPUT_SCHEMA_VERSION


@click.command("who")
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@at_option
@format_option("table", "json")
@output_option
@click.option("--sources", "-v", "sources", is_flag=True, help="Also list the sources and unverified notes.")
@wide_option
@lang_option
@handle_errors
def who_command(targets: tuple[str, ...], at, fmt: str, output: Path | None, sources: bool, wide: bool,
                lang: str) -> None:
    """Who operates and controls TARGET, and which laws reach it.

    TARGET is a host name, a URL, an IPv4/IPv6 address, an ASN (AS16509) or a KB id. A target
    that cannot be attributed is reported as such (exit 0); an invalid one is an error (exit 2).
    """
    from souverain.attribute.who import who

    knowledge = load_kb()
    results = [who(knowledge, target, at).data for target in targets]  # the IP table loads when needed
    if fmt == "json":
        payload = {"schema_version": OUTPUT_SCHEMA_VERSION, "kb_version": knowledge.version, "results": results}
        emit(to_json(payload), output)
        return
    from souverain.cli.options import display_names

    t = Translator(lang, display_names())
    width = terminal.terminal_width(wide)
    emit("\n".join(render_who(item, t, sources, width) for item in results), output)


def render_who(item: dict, t: Translator, sources: bool = False, width: int | None = None) -> str:
    """The answer, the ownership chain and the laws; ``sources``: also the sources and the
    unverified notes of the records used (a hint says how to get them otherwise)."""
    width = width or terminal.terminal_width()
    lines: list = []
    title = t("who.title", target=item["target"])
    if item["status"] == "unattributed":
        network = item.get("network") or {}
        reason = t(f"who.reason.{item['reason']}", asn=network.get("asn"), as_name=network.get("as_name") or "?")
        pairs = [(t("field.network"), _network_text(network))] if network else []
        if "domain" in item:  # the holder of the domain is known, no service is
            return "\n".join(_domain_lines(item, t)) + "\n" + terminal.render(
                terminal.key_values(pairs, title=title), t("who.domain_no_service", target=item["target"], reason=reason),
                width=width)
        return terminal.render(terminal.key_values(pairs, title=title),
                               t("who.unattributed", target=item["target"], reason=reason), width=width)
    if item["status"] == "registered":
        return _render_registered(item, t, title, width)
    operator: dict[str, Any] | None = item.get("operator")
    controller: dict[str, Any] = item.get("controller") or {}  # present whenever operator is
    if operator and "service" in item:
        headline = t("who.attributed", target=item["target"], service=item["service"]["name"],
                     operator=operator["name"], operator_country=operator["country"],
                     controller=controller["name"], controller_country=controller["country"])
    elif operator:
        headline = t("who.entity", target=item["target"], operator=operator["name"],
                     operator_country=operator["country"], controller=controller["name"],
                     controller_country=controller["country"])
    else:
        record = item.get("record", {})
        headline = f"{item['target']}: {t.token('kind', record.get('kind', ''))} {record.get('name', '')}"
    lines.append(headline)
    if item.get("deprecated"):
        lines.append(t("who.deprecated", target=item["target"]))
    lines += _domain_lines(item, t)
    lines += [t("who.undocumented_ownership", entity=gap["entity_name"], date=gap["since_before"], owner=gap["owner_name"])
              for gap in item.get("undocumented_ownership", [])]
    pairs = [(t("field.at"), item["at"])]
    if "network" in item:
        pairs.append((t("field.network"), _network_text(item["network"])))
    if "match" in item:
        pairs.append((t("field.match"), f"{item['match']['value']} ~ {item['match']['rule']}"))
    if "service" in item:
        svc = item["service"]
        pairs += [(t("field.service"), f"{svc['name']} [{svc['id']}]"), (t("field.category"), t.token("category", svc["category"])),
                  (t("field.functions"), ", ".join(t.function(f) for f in svc["functions"]))]
    if operator:
        pairs += [(t("field.operator"), f"{operator['name']} ({operator['country']}) [{operator['id']}]"),
                  (t("field.chain"), t.path(item["chain_text"])),
                  (t("field.controller"), f"{controller['name']} ({controller['country']})"),
                  (t("field.jurisdictions"), ", ".join(t.country(c) for c in item["jurisdictions"]))]
    laws = item.get("laws", [])
    body = [terminal.key_values(pairs, title=title)]
    dropped = False
    if laws:
        table, dropped = terminal.fit(
            [t("field.laws"), t("field.country"), t("field.effect"), t("field.via"), t("field.status"), t("field.chain")],
            [(t.law(law["id"], short=True, fallback=law["name"]), t.country(law["country"]),
              t.token("effect", law["effect"]), t.token("via", law["via"]), t.token("law_status", law["status"]),
              t.path(law["path_text"])) for law in laws],
            width, drop=(3, 5))
        body.append(table)
    compel = [law for law in laws if law["effect"] == "compels-access" and law["status"] == "in-force"
              and law["country"] not in _eu()]
    if operator:
        foreign = [law for law in compel if law.get("applies", True)]
        lines.append(t("who.foreign_laws", laws=", ".join(t.law(law["id"], fallback=law["name"]) for law in foreign))
                     if foreign
                     else t("who.no_foreign_laws"))
        scoped = [law for law in compel if not law.get("applies", True)]
        if scoped:
            roles = dict.fromkeys(role for law in scoped for role in law["applies_to"])
            lines.append(t("who.scoped_laws", laws=", ".join(t.law(law["id"], fallback=law["name"]) for law in scoped),
                           entity=operator["name"], roles=", ".join(t(f"role.{role}") for role in roles)))
    hints = [t("hint.wide", width=width)] if dropped else []
    if sources:
        if item.get("unverified"):
            body.append(terminal.table([t("field.unverified"), t("field.fact")], item["unverified"].items()))
        if item.get("sources"):
            body.append(terminal.table(
                [t("field.sources"), t("field.title"), t("field.website")],
                [(t.record(s["record"]), s["title"], f"{s['url']} ({s['retrieved']})") for s in item["sources"]],
            ))
    elif item.get("sources") or item.get("unverified"):
        hints.append(t("hint.sources"))
    return terminal.wrap(lines, width) + terminal.render(*body, width=width) + terminal.wrap(hints, width)


def _domain_lines(item: dict, t: Translator) -> list[str]:
    """The entity holding the target's domain, apart from any service its host names match."""
    domain = item.get("domain")
    if not domain:
        return []
    holder, controller = domain["holder"], domain["controller"]
    key = "who.domain_held" if holder["id"] == controller["id"] else "who.domain_held_controlled"
    return [t(key, domain=domain["domain"], holder=holder["name"], holder_country=holder["country"],
              controller=controller["name"], controller_country=controller["country"], chain=t.path(domain["chain_text"]))]


def _render_registered(item: dict, t: Translator, title: str, width: int) -> str:
    """A network the KB has no operator for: its registered holder, country and seat laws."""
    network = item["network"]
    key = "who.registered_asn" if item["target"].upper() == f"AS{network['asn']}" else "who.registered"
    lines = [t(key, target=item["target"], asn=network["asn"], as_name=network.get("as_name") or "?",
               country=network["country"])]
    laws = item.get("laws", [])
    lines.append(t("who.registered_laws", laws=", ".join(t.law(law["id"], fallback=law["name"]) for law in laws))
                 if laws else t("who.registered_no_laws"))
    pairs = [(t("field.at"), item["at"]), (t("field.network"), _network_text(network)),
             (t("field.tier"), f"{t('tier.registered')} ({t('tier.note.registered')})")]
    body = [terminal.key_values(pairs, title=title)]
    if laws:
        body.append(terminal.table(
            [t("field.laws"), t("field.country"), t("field.effect"), t("field.via"), t("field.status")],
            [(t.law(law["id"], short=True, fallback=law["name"]), t.country(law["country"]),
              t.token("effect", law["effect"]), t.token("via", law["via"]), t.token("law_status", law["status"]))
             for law in laws],
        ))
    return terminal.wrap(lines, width) + terminal.render(*body, width=width)


def _network_text(network: dict) -> str:
    text = f"AS{network['asn']} {network.get('as_name') or ''}".strip()
    if network.get("country"):
        text += f" ({network['country']})"
    if network.get("range"):
        text += f" [{network['range']}]"
    return text


def _eu() -> frozenset[str]:
    return load_kb().region("eu")
