"""The knowledge-base pages (entity with its ownership timeline, service, law), the assessment
pages' content, and the answers form for an offer not in the KB."""

from __future__ import annotations

import datetime as dt
import json
import re

import yaml
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.web.timeline import controller_segments
from tests.web.conftest import csrf_of


def test_controller_segments_follow_the_dated_edges():
    kb = load_kb()
    segments = controller_segments(kb, kb.entities["skype"], dt.date(2005, 1, 1), dt.date(2026, 1, 1))
    assert [(str(a), str(b), who) for a, b, who in segments] == [
        ("2005-01-01", "2005-10-14", "skype"), ("2005-10-14", "2009-11-19", "ebay"),
        ("2009-11-19", "2011-10-13", "silver-lake"), ("2011-10-13", "2026-01-01", "microsoft")]


def test_entity_page_timeline_laws_and_links(client):
    page = client.get("/kb/skype?lang=en").text
    svg = re.search(r'<figure id="timeline"><svg class="timeline".*?</svg></figure>', page, re.DOTALL)
    assert svg, "no inline SVG timeline"
    chart = svg.group(0)
    for owner, period in (("eBay Inc.", "2005-10-14 – 2009-11-19"), ("Silver Lake", "2009-11-19 – 2011-10-13")):
        assert f"Ultimate controller: {owner}, {period}" in chart  # the controller row, by date
    assert "Microsoft Corporation: 100 %, 2011-10-13 – now" in chart  # a holding's bar with its dates
    assert "eBay Inc.: 30 %, 2009-11-19 – 2011-10-13" in chart and 'fill-opacity="0.45"' in chart  # minority
    assert ">2010</text>" in chart and ">2026</text>" in chart  # the dated axis
    assert "a holding without control" in chart  # the legend
    assert "<script" not in page and "style=" not in page  # the strict CSP allows neither
    assert 'href="/kb/us-cloud-act"' in page and 'href="/kb/microsoft"' in page
    assert re.search(r'<td id="chain"><a href="/kb/skype">Skype Global S\.à r\.l\.</a> \(LU, 100 %\) ← '
                     r'<a href="/kb/microsoft">Microsoft Corporation</a> \(US\)</td>', page)
    assert "pulse2.com/news/microsoft-closes-acquisition-of-skype" in page  # the sources


def test_entity_page_at_a_past_date(client):
    page = client.get("/kb/skype?at=2010-06-01").text
    assert re.search(r"Ultimate controller</th><td><a href=\"/kb/silver-lake\">", page)
    assert "Microsoft" not in re.search(r'<td id="chain">.*?</td>', page).group(0)


def test_entity_page_in_french(client):
    page = client.get("/kb/skype?lang=fr").text
    assert "Propriétaires de Skype Global S.à r.l. dans le temps" in page and "Contrôle ultime" in page


def test_entity_page_lists_its_services_and_their_alternatives(client):
    page = client.get("/kb/microsoft").text
    services = re.search(r'<div id="services">.*?</div>', page, re.DOTALL).group(0)
    assert 'href="/kb/exchange-online"' in services
    assert 'href="/kb/proton-mail"' in services  # a European alternative to hosted mail
    assert "This record is retired" not in page
    assert client.get("/kb/ovhcloud").status_code == 200


def test_an_entity_without_owners_says_so(client):
    page = client.get("/kb/microsoft").text
    assert 'id="no-owners"' in page and "<svg" not in page


def test_service_page(client):
    page = client.get("/kb/exchange-online").text
    assert "<h1>Exchange Online (Microsoft 365)</h1>" in page
    assert re.search(r'Operator</th><td><a href="/kb/microsoft">Microsoft Corporation</a>', page)
    fingerprints = re.search(r'<table id="fingerprints">.*?</table>', page, re.DOTALL).group(0)
    assert re.search(r"<td>mx</td><td>4</td><td><code>mail\.protection\.outlook\.com", fingerprints)
    assert 'href="/kb/us-cloud-act"' in page and 'href="/kb/proton-mail"' in page
    assert 'href="/kb/email.inbound"' in page  # a function links to its record


def test_law_page_what_it_compels_and_whom_it_reaches(client):
    page = client.get("/kb/us-cloud-act").text
    assert 'id="effect">compels access</td>' in page
    assert '<td id="applies-to">electronic-communication, remote-computing</td>' in page
    reached = re.search(r'<table id="reached">.*?</table>', page, re.DOTALL).group(0)
    assert 'href="/kb/microsoft"' in reached and 'href="/kb/skype"' in reached
    assert "Skype Global S.à r.l. &lt;- Microsoft Corporation (US, 100 %)" in reached  # the path
    assert 'href="/kb/ovhcloud"' not in reached  # a French group is not reached
    services = re.search(r'<table id="reached-services">.*?</table>', page, re.DOTALL).group(0)
    assert 'href="/kb/exchange-online"' in services
    assert re.search(r"Entities it reaches on \d{4}-\d\d-\d\d \((\d+)\)", page)
    french = client.get("/kb/us-cloud-act?lang=fr").text
    assert "Ce qu&#39;elle impose" in french
    before = client.get("/kb/us-cloud-act?at=2010-01-01&lang=en").text  # the CLOUD Act dates from 2018
    assert "not in force on 2010-01-01" in before and 'href="/kb/microsoft"' not in before


def test_search_links_to_the_pages(client):
    hits = client.get("/kb?q=cloud-act").text
    assert 'href="/kb/us-cloud-act"' in hits
    assert client.get("/kb/no-such-record").status_code == 404
    who = client.get("/who?target=mail.protection.outlook.com").text  # a look-up links to the law pages too
    assert 'href="/kb/us-cloud-act"' in who


def test_assessment_pages_show_estimate_floor_objectives_claims_and_sources(client):
    page = client.get("/assess?offer=aws-esc").text
    assert 'src="/report/assessment.html?offer=aws-esc&amp;lang=en"' in page
    report = client.get("/report/assessment.html?offer=aws-esc&lang=en").text
    assert "Evidenced floor" in report and "Estimate" in report
    assert "SOV-1 " in report and "SOV-8 " in report  # every objective
    assert "Claim contradicted by the facts: SOV-1.1" in report
    assert "https://" in report  # sources
    compare = client.get("/report/assessment.html?offer=aws-esc&offer=bleu-cloud").text
    assert "AWS European Sovereign Cloud" in compare and "Bleu" in compare


# -- the answers form ----------------------------------------------------------------------
FORM = {"name": "Tender Cloud", "category": "iaas", "provider_name": "Tender Cloud SAS", "provider_country": "FR",
        "owner": "microsoft", "owner_pct": "60", "owner_since": "2020-01-01",
        "source_url": "https://example.org/tender.pdf", "source_title": "Tender response", "retrieved": "2026-11-30",
        "option.SOV-1.1": "entirely-eu", "kind.SOV-1.1": "self-declared",
        "option.SOV-1.3": "full-eu-influence", "kind.SOV-1.3": "assessor", "note.SOV-1.3": "the tender says so"}


def test_the_form_has_every_criterion(client):
    page = client.get("/assess/answers").text
    framework = load_kb().frameworks["eu-csf"]
    criteria = [c.id for o in framework.objectives for c in o.criteria]
    assert re.findall(r'<select id="option\.(SOV-[\d.]+)"', page) == criteria
    assert 'name="csrf"' in page and 'href="/assess/answers"' in page  # the nav link


def test_answers_form_to_the_assessment_page(client, tmp_path):
    assert client.post("/assess/answers", data=FORM).status_code == 403  # no CSRF token
    posted = client.post("/assess/answers", data={**FORM, "csrf": csrf_of(client, "/assess/answers")},
                         follow_redirects=False)
    assert posted.status_code == 303
    where = posted.headers["location"]
    assert re.fullmatch(r"/assess/answers/[\w-]{16}", where)
    page = client.get(where).text
    assert "Tender Cloud: estimate SEAL-1" in page and "evidenced floor SEAL-0" in page
    assert f'src="{where}/report.html?lang=en"' in page
    report = client.get(f"{where}/report.html")
    assert report.headers["content-security-policy"].endswith("frame-ancestors 'self'") and "SOV-1.3" in report.text
    assert "ultimate controller Microsoft Corporation (US)" in report.text
    assert "Claim contradicted by the facts: SOV-1.1" in report.text  # derived from the owner given
    assessed = json.loads(client.get(f"{where}/download/json").text)
    answers_file = tmp_path / "tender.yaml"
    answers_file.write_text(client.get(f"{where}/download/yaml").text)
    assert yaml.safe_load(answers_file.read_text())["answers"]["SOV-1.3"]["rationale"] == "the tender says so"
    cli_run = CliRunner().invoke(cli, ["assess", "--answers", str(answers_file), "--format", "json"])
    assert cli_run.exit_code in (0, 3), cli_run.output  # the CLI reads the file the form wrote
    from_cli = json.loads(cli_run.output)
    assert from_cli["csf"]["estimate"] == assessed["csf"]["estimate"]
    assert client.get(f"{where}/download/xml").status_code == 404
    assert client.get("/assess/answers/not-a-submitted-key").status_code == 404


def test_answers_form_errors_are_shown_on_the_form(client):
    token = csrf_of(client, "/assess/answers")
    no_rationale = {**FORM, "csrf": token, "note.SOV-1.3": ""}
    page = client.post("/assess/answers", data=no_rationale)
    assert page.status_code == 400 and "an assessor answer needs a rationale" in page.text
    assert 'value="Tender Cloud SAS"' in page.text  # what was typed is kept
    unknown_owner = client.post("/assess/answers", data={**FORM, "csrf": token, "owner": "no-such-entity"})
    assert unknown_owner.status_code == 400 and "unknown entity &#39;no-such-entity&#39;" in unknown_owner.text
    too_long = client.post("/assess/answers", data={**FORM, "csrf": token, "name": "x" * 600})
    assert too_long.status_code == 400 and "name: at most 500 characters" in too_long.text
    wrong_option = client.post("/assess/answers", data={**FORM, "csrf": token, "option.SOV-1.1": "forged"})
    assert wrong_option.status_code == 400 and "unknown option &#39;forged&#39;" in wrong_option.text


def test_api_assesses_an_answers_document(client):
    document = {"id": "tender", "name": "Tender", "category": "saas", "provider": "ovhcloud",
                "sources": [{"url": "https://example.org/t.pdf", "title": "Tender", "retrieved": "2026-11-30"}],
                "as_of": "2026-11-30", "answers": {}}
    answer = client.post("/api/v1/assess", json=document)
    assert answer.status_code == 200 and answer.json()["provider"]["id"] == "ovhcloud"
    bad = client.post("/api/v1/assess", json={**document, "provider": "nobody-at-all"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "provider: unknown entity 'nobody-at-all'" in bad.json()["errors"]
    assert client.post("/api/v1/assess", json=[1, 2]).status_code == 400
