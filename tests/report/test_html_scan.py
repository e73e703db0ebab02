"""The scan's HTML report (issue 13 item 2): a one-sentence verdict coloured by the result, a chart
with its legend and scale, the domain of each service when several domains are scanned, laws named
once with a glossary, the KB's sources numbered and linked from the rows, alternatives with links,
their controller country, laws and qualifications, printable, self-contained, remote text escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.display import display_names, record_sources
from souverain.model.load import load
from souverain.model.scan import ScanResult
from souverain.report.i18n import Translator
from souverain.report.render import render_scan
from tests.report.htmldom import Node, parse

GOLDEN = Path(__file__).parents[1] / "golden" / "scan"


@pytest.fixture(scope="module")
def kb_data():
    kb = load_kb()
    return kb, display_names(kb), record_sources(kb)


@pytest.fixture(scope="module")
def two_domains(world_dns) -> dict:
    result = CliRunner().invoke(cli, [
        "scan", "m365pp.test", "selfovh.test", "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "3",
        "--at", "2026-11-28", "--functions", "mail,dns", "--no-web-fetch", "--no-store", "--quiet", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def html_of(document: dict, kb_data, lang: str = "en", with_sources: bool = True) -> str:
    _, names, sources = kb_data
    return render_scan(load(ScanResult, document), "html", lang, names, sources=sources if with_sources else None)


def golden(domain: str) -> dict:
    return json.loads((GOLDEN / f"{domain}.json").read_text(encoding="utf-8"))


def table_after(page: Node, heading: str) -> Node:
    """The first table after the <h2> whose text is ``heading``."""
    nodes = list(page.iter())
    start = next(i for i, node in enumerate(nodes) if node.tag == "h2" and node.text() == heading)
    return next(node for node in nodes[start:] if node.tag == "table")


def headers(table: Node) -> list[str]:
    return [th.text() for th in table.find("tr").find_all("th")]


@pytest.mark.parametrize(("domain", "colour", "sentence"), [
    ("m365pp.test", "v-exposed", "Foreign authorities can compel the providers of"),
    ("selfovh.test", "v-not-exposed", "No foreign law that can compel access to data reaches"),
])
def test_verdict_is_one_sentence_first_coloured_by_the_result(kb_data, domain, colour, sentence):
    page = parse(html_of(golden(domain), kb_data))
    verdict = page.find("section", cls="verdict")
    assert colour in verdict.classes
    first = verdict.find("p")
    assert "headline" in first.classes and first.text().startswith(sentence)
    assert first.text().count(". ") == 0  # one sentence


def test_amber_for_partial_and_unknown_in_the_stylesheet(kb_data):
    css = html_of(golden("selfovh.test"), kb_data).split("<style>")[1].split("</style>")[0]
    amber = re.search(r"\.v-partly-exposed,\.v-undetermined\{background:(#[0-9a-f]{6})", css)
    assert amber and amber.group(1) not in re.findall(r"\.v-(?:exposed|not-exposed)\{background:(#[0-9a-f]{6})", css)


def test_function_chart_has_a_legend_and_a_scale(kb_data):
    document = golden("m365pp.test")
    page = parse(html_of(document, kb_data))
    chart = page.find("figure", cls="chart")
    legend = [item.text() for item in chart.find_all("span", cls="legend-item")]
    assert sorted(legend) == sorted({"exposed": "exposed", "not-exposed": "not exposed", "unknown": "unknown",
                                     "absent": "absent"}[f["state"]] for f in {f["state"]: f for f in
                                     document["summary"]["functions"]}.values())
    ticks = [tick.text() for tick in chart.find_all("span", cls="tick")]
    assert ticks == ["0", "1", "2", "3", "4", "5"]
    assert "criticality" in chart.find("figcaption").text()
    bars = chart.find_all("span", cls="bar")
    assert len(bars) == len(document["summary"]["functions"])


def test_each_law_is_named_once_in_a_glossary_the_tables_link_to(kb_data):
    document = golden("m365pp.test")
    html = html_of(document, kb_data)
    page = parse(html)
    glossary = page.find("section", cls="glossary")
    rows = [tr.attrs["id"] for tr in glossary.find_all("tr") if "id" in tr.attrs]
    assert len(rows) == len(set(rows))
    linked = {a.attrs["href"][1:] for a in page.find_all("a", cls="law")}
    assert linked and linked <= set(rows)
    laws = {law["id"] for law in document["summary"]["laws"]}
    assert {f"law-{law}" for law in laws} <= set(rows)
    text = page.text()
    assert text.count("Clarifying Lawful Overseas Use of Data Act") == 1  # the glossary, not every row
    cloud_act = glossary.find("tr", id="law-us-cloud-act")
    assert "United States" in cloud_act.text() and "compels access" in cloud_act.text()
    assert cloud_act.find("a").attrs["href"].startswith("https://")


def test_kb_sources_are_numbered_once_and_linked_from_the_rows(kb_data):
    kb, _, sources = kb_data
    document = golden("m365pp.test")
    page = parse(html_of(document, kb_data))
    items = page.find("section", cls="sources").find_all("li")
    urls = [li.find("a").attrs["href"] for li in items]
    assert urls and len(urls) == len(set(urls))
    assert [li.attrs["id"] for li in items] == [f"src-{n}" for n in range(1, len(items) + 1)]
    # every source of every service found is listed
    services = {d["service"]["id"] for d in document["dependencies"] if d.get("service")} & set(kb.records)
    assert services
    for service in services:
        for source in sources[service]:
            assert source["url"] in urls, (service, source["url"])
    cited = {a.attrs["href"] for td in page.find_all("td", cls="refs") for a in td.find_all("a")}
    assert cited == {f"#src-{n}" for n in range(1, len(items) + 1)}  # each listed source is cited by a row


def test_without_the_kb_sources_the_report_says_so(kb_data):
    page = parse(html_of(golden("m365pp.test"), kb_data, with_sources=False))
    assert "No knowledge-base source is cited" in page.find("section", cls="sources").text()
    assert not page.find_all("td", cls="refs")


def test_domain_column_when_several_domains(kb_data, two_domains):
    page = parse(html_of(two_domains, kb_data))
    functions = table_after(page, "Functions")
    assert headers(functions)[1] == "Domains"
    mail = next(tr for tr in functions.find_all("tr")[1:] if tr.find("td").text() == "Inbound e-mail (mailboxes)")
    assert mail.find("td", cls="domains").text() == "m365pp.test selfovh.test"
    assert "Exchange Online (Microsoft 365) · m365pp.test" in mail.text()
    assert headers(table_after(page, "Dependencies"))[0] == "Domain"
    single = parse(html_of(golden("m365pp.test"), kb_data))
    assert "Domains" not in headers(table_after(single, "Functions"))
    assert "Domain" not in headers(table_after(single, "Dependencies"))


def test_alternatives_have_headers_links_country_laws_and_badges(kb_data):
    document = golden("gworkspace.test")
    first = document["summary"]["alternatives"]["email.inbound"][0]
    first["secnumcloud"] = True  # the badge follows the data
    page = parse(html_of(document, kb_data))
    table = table_after(page, "European alternatives for the exposed functions")
    assert all(headers(table))
    rows = table.find_all("tr")[1:]
    alts = [alt for alts in document["summary"]["alternatives"].values() for alt in alts]
    assert len(rows) == len(alts)
    for row, alt in zip(rows, alts, strict=True):
        link = row.find("a", cls="print-url")
        assert link.attrs["href"] == alt["website"] and link.text() == alt["name"]
        cells = [td.text() for td in row.find_all("td")]
        assert cells[3] == f"{alt['vendor']} ({Translator('en').country(alt['country'])})"  # its controller's country
        if alt["foreign_laws"]:
            assert [a.attrs["href"] for a in row.find_all("a", cls="law")] == [f"#law-{law}" for law in alt["foreign_laws"]]
        else:
            assert cells[4] == "none known"
        badges = [badge.text() for badge in row.find_all("span", cls="badge")]
        assert ("SecNumCloud qualified" in badges) == alt["secnumcloud"]
        assert ("CSF assessment available" in badges) == bool(alt["assessment"])


def test_printable_and_self_contained(kb_data):
    html = html_of(golden("m365pp.test"), kb_data)
    css = html.split("<style>")[1].split("</style>")[0]
    assert "@media print" in css and re.search(r"@page\{size:A4", css)
    assert "break-inside:avoid" in css and 'attr(href)' in css
    assert "<script" not in html and "<link" not in html and not re.search(r'\ssrc="', html)


def test_french_report(kb_data):
    page = parse(html_of(golden("m365pp.test"), kb_data, "fr"))
    assert page.find("p", cls="headline").text().startswith("Des autorités étrangères peuvent contraindre")
    assert page.find("section", cls="glossary").find("h2").text() == "Lois citées dans ce rapport"
    assert "Longueur de la barre" in page.find("figcaption").text()


def test_remote_text_is_escaped(kb_data):
    document = golden("m365pp.test")
    document["dependencies"][0]["subject"] = "<img src=x onerror=alert(1)>"
    document["dependencies"][0]["service"]["name"] = "<script>alert(1)</script>"
    document["scan"]["domains"] = ["<b>x</b>.test"]
    html = html_of(document, kb_data)
    assert "<script>alert" not in html and "<b>x</b>" not in html and "&lt;script&gt;" in html
