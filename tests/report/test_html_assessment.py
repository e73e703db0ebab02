"""The assessment and comparison HTML reports (issue 13 item 2): a one-sentence verdict per offer
coloured by exposure, the objectives chart with a legend that does not overlap and the SEAL scale,
"SEAL · points" explained, answers read as sentences under headers, laws named once in a glossary,
and every source of the assessment numbered, listed and linked from its answer."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from tests.report.htmldom import parse

OFFERS = ["aws-esc", "ovhcloud-secnumcloud", "s3ns-premi3ns"]


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--at", "2026-12-01"])
    assert result.exit_code in (0, 3), result.output
    return result.stdout


@pytest.fixture(scope="module")
def compare_html() -> str:
    return run("compare", *OFFERS, "--format", "html")


@pytest.fixture(scope="module")
def compare_json() -> dict:
    return json.loads(run("compare", *OFFERS, "--format", "json"))


def test_one_sentence_verdict_per_offer_coloured_by_exposure(compare_html, compare_json):
    page = parse(compare_html)
    verdicts = page.find_all("section", cls="verdict")
    assert len(verdicts) == len(OFFERS)
    for section, offer in zip(verdicts, compare_json["offers"], strict=True):
        headline = section.find("p")
        assert "headline" in headline.classes and headline.text().startswith(offer["offer"]["name"])
        foreign = any(law["foreign_access"] for law in offer["laws"])
        assert ("v-exposed" in section.classes) == foreign
        if foreign:
            assert "can be compelled to hand over data" in headline.text()
        else:  # OVHcloud and S3NS: no foreign law, but §19.6 undetermined: amber, never red
            assert "v-partly-exposed" in section.classes and "no foreign law reaches it" in headline.text()


def test_chart_legend_one_item_per_offer_in_a_wrapping_list(compare_html, compare_json):
    page = parse(compare_html)
    chart = page.find("figure", cls="chart")
    legend = chart.find("span", cls="legend")
    assert [item.text() for item in legend.find_all("span", cls="legend-item")] == [
        offer["offer"]["name"] for offer in compare_json["offers"]]
    assert "flex-wrap:wrap" in compare_html.split(".legend{")[1].split("}")[0]  # HTML that wraps, not SVG text
    assert [tick.text() for tick in chart.find_all("span", cls="tick")] == ["0", "1", "2", "3", "4"]
    objectives = compare_json["offers"][0]["csf"]["objectives"]
    assert len(chart.find_all("span", cls="bar")) == len(objectives) * len(OFFERS)
    levels = [li.text() for li in page.find("ul", cls="seal-levels").find_all("li")]
    assert levels[0] == "SEAL-0 No sovereignty" and levels[4] == "SEAL-4 Full digital sovereignty"


def test_objective_cells_say_what_seal_and_points_are(compare_html):
    page = parse(compare_html)
    table = page.find("table", cls="objectives")
    assert "points they earn out of the objective's maximum" in table.find("caption").text()
    cell = table.find_all("tr")[1].find_all("td")[1].text()
    assert "estimate" in cell and "floor" in cell and "points" in cell and "pts" not in compare_html


def test_criteria_read_as_sentences_under_headers(compare_html, compare_json):
    page = parse(compare_html)
    tables = page.find_all("table", cls="criteria")
    assert len(tables) == len(OFFERS)
    rows = tables[0].find_all("tr")
    assert [th.text() for th in rows[0].find_all("th")][:3] == ["Criterion", "Answer", "What the answer rests on"]
    criteria = compare_json["offers"][0]["csf"]["criteria"]
    for row, criterion in zip(rows[1:], criteria, strict=True):
        assert row.find("th").attrs.get("scope") == "row" and row.find("th").text().startswith(criterion["id"])
        answer = row.find_all("td")[0].text()
        if criterion["source"] == "unknown":
            assert answer.startswith("Not known: counted at the worst answer")
        assert criterion["label"] in answer


def test_every_source_is_listed_once_and_cited(compare_html, compare_json):
    page = parse(compare_html)
    items = page.find("section", cls="sources").find_all("li")
    listed = [li.find("a").attrs["href"] for li in items]
    assert len(listed) == len(set(listed))
    expected = set()
    for offer in compare_json["offers"]:
        parts = [offer, *offer["csf"]["criteria"], *offer["technology"], *offer["claims"]]
        expected |= {source["url"] for part in parts for source in part.get("sources", ())}
    assert expected and set(listed) == expected
    cited = {a.attrs["href"] for a in page.find_all("a") if a.attrs.get("href", "").startswith("#src-")}
    assert cited == {f"#src-{n}" for n in range(1, len(items) + 1)}


def test_foreign_laws_explained_once_in_a_glossary(compare_html):
    page = parse(compare_html)
    rows = [tr.attrs["id"] for tr in page.find("section", cls="glossary").find_all("tr") if "id" in tr.attrs]
    assert "law-us-cloud-act" in rows and len(rows) == len(set(rows))
    assert page.text().count("Clarifying Lawful Overseas Use of Data Act") == 1


def test_french_and_printable():
    html = run("assess", "ovhcloud-secnumcloud", "--format", "html", "--lang", "fr")
    page = parse(html)
    assert page.find("p", cls="headline").text().startswith("OVHcloud SecNumCloud")
    assert "aucune loi étrangère ne l'atteint" in page.find("p", cls="headline").text()
    assert page.find("section", cls="sources").find("h2").text() == "Sources"
    assert "@media print" in html and "@page{size:A4" in html and "<script" not in html
