"""The pages through an HTTP client: languages, the scan flow with downloads, KB, assess, compare."""

from __future__ import annotations

import json
import re

from tests.web.conftest import csrf_of, wait_done


def test_language_from_accept_language_then_the_switch(client):
    assert "Analyser une organisation" in client.get("/", headers={"accept-language": "fr-FR,fr;q=0.9,en;q=0.5"}).text
    assert "Scan an organisation" in client.get("/", headers={"accept-language": "de, en;q=0.8"}).text
    english = client.get("/kb?q=ovh", headers={"accept-language": "fr"}).text
    assert 'href="/kb?q=ovh&amp;lang=en"' in english  # every page links to itself in the other language
    switched = client.get("/kb?q=ovh&lang=en", headers={"accept-language": "fr"})
    assert "Search records" in switched.text and switched.cookies["souverain_lang"] == "en"
    assert "Scan an organisation" in client.get("/", headers={"accept-language": "fr"}).text  # the cookie wins


def test_scan_flow_result_and_downloads(client):
    token = csrf_of(client)
    posted = client.post("/scan", data={"csrf": token, "domains": "m365.test\novhmail.test",
                                        "functions": ["mail", "dns"]}, follow_redirects=False)
    job_id = posted.headers["location"].rsplit("/", 1)[1]
    progress = client.get(f"/scans/{job_id}")
    assert progress.status_code == 200
    wait_done(client, job_id)
    page = client.get(f"/scans/{job_id}?lang=fr").text
    assert "Résultat de l&#39;analyse" in page and "EXPOSÉ" in page.upper()
    assert f'src="/scans/{job_id}/report.html?lang=fr"' in page
    report = client.get(f"/scans/{job_id}/report.html?lang=en").text
    assert "m365.test" in report and "ovhmail.test" in report
    document = json.loads(client.get(f"/scans/{job_id}/download/json").text)
    assert document["scan"]["domains"] == ["m365.test", "ovhmail.test"]
    csv_text = client.get(f"/scans/{job_id}/download/csv").text
    assert csv_text.startswith("domain,function,status")
    sarif = json.loads(client.get(f"/scans/{job_id}/download/sarif").text)
    assert sarif["version"] == "2.1.0"
    html = client.get(f"/scans/{job_id}/download/html")
    assert "attachment" in html.headers["content-disposition"] and "<html" in html.text
    assert client.get(f"/scans/{job_id}/download/xml").status_code == 404


def test_events_stream_ends_with_the_final_status(client):
    job_id = client.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["dns"]}).json()["id"]
    with client.stream("GET", f"/scans/{job_id}/events") as stream:
        events = [json.loads(line[len("data: "):]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1]["status"] == "done" and events[-1]["done"] == 1


def test_kb_search_and_entity_page(client):
    hits = client.get("/kb?q=skype").text
    assert 'href="/kb/skype"' in hits
    page = client.get("/kb/skype").text
    assert "Microsoft Corporation" in page  # owner since 2011
    assert re.search(r"<td>2011-10-13</td>", page)
    assert client.get("/kb/no-such-record").status_code == 404
    who = client.get("/who?target=microsoft").text
    assert "Microsoft Corporation" in who


def test_assess_and_compare_pages(client):
    page = client.get("/assess?offer=aws-esc").text
    assert 'src="/report/assessment.html?offer=aws-esc&amp;lang=en"' in page
    assert client.get("/assess?offer=nope").status_code == 404
    compare = client.get("/compare?offer=aws-esc&offer=bleu-cloud").text
    assert "offer=aws-esc&amp;offer=bleu-cloud" in compare
    report = client.get("/report/assessment.html?offer=aws-esc&offer=bleu-cloud&lang=fr").text
    assert "Bleu" in report and "Souveraineté stratégique" in report  # framework texts in French


def test_a_failed_scan_page_says_why_and_stops_refreshing(client):
    from souverain.errors import DataError

    def broken(domains, functions, advance):
        raise DataError("no answer from the knowledge base")

    jobs = client.app.state.ctx.jobs
    jobs.scan = broken
    job_id = client.post("/api/v1/scans", json={"domains": ["m365.test"]}).json()["id"]
    assert wait_done(client, job_id)["status"] == "failed"
    page = client.get(f"/scans/{job_id}").text
    assert "no answer from the knowledge base" in page and "Failed" in page
    assert "progress.js" not in page and "refresh" not in page


def test_what_moved_since_the_previous_scan(client):
    import dataclasses

    from souverain.model.load import load
    from souverain.model.scan import ScanResult

    first = client.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["mail"]}).json()["id"]
    done = wait_done(client, first)
    assert 'id="moved"' not in client.get(f"/scans/{first}").text  # nothing to compare with yet
    # an earlier scan in which the inbound mail went elsewhere
    earlier = load(ScanResult, done["scan"])
    deps = tuple(dataclasses.replace(d, service=dataclasses.replace(d.service, id="ovh-mx-plan", name="OVH MX Plan"))
                 if d.function == "email.inbound" and d.service else d for d in earlier.dependencies)
    older = dataclasses.replace(earlier, dependencies=deps, scan=dataclasses.replace(
        earlier.scan, id="older", started="2026-01-01T00:00:00Z", stored_id=None))
    client.app.state.ctx.store.save_scan(older)
    second = client.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["mail"]}).json()["id"]
    wait_done(client, second)
    page = client.get(f"/scans/{second}").text
    moved = page.split('id="moved"', 1)[1].split("</ul>", 1)[0]
    assert "email.inbound moved from" not in moved  # the change came before the first scan, not this one
    assert "No change between the stored scans." in moved
    page = client.get(f"/scans/{first}").text
    assert "email.inbound moved from" in page.split('id="moved"', 1)[1].split("</ul>", 1)[0]
