"""Surveys in the web application and the API: upload into the data folder, column mapping, the
job with its progress, pause/cancel/resume/retry, report, rows, diff, exports, restart."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from souverain.store.database import Store
from souverain.store.surveys import SurveyStore
from souverain.web.jobs import Jobs, ScanSettings, SurveySettings, jobs
from tests.web.conftest import csrf_of, make_client

PROBLEM = "application/problem+json"
POPULATION = ("domain,commune,region\n"
              "m365.test,Alpha,84\n"
              "ovhmail.test,=cmd|' /C calc'!A0,84\n"
              "gworkspace.test,Gamma,11\n"
              "not a domain,Bad,11\n")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def client(tmp_path, world_dns, data_dir):
    with make_client(tmp_path, world_dns, survey=SurveySettings(data_dir=data_dir, concurrency=8)) as test_client:
        yield test_client


def wait_survey(client, job_id: str, statuses=("done", "failed", "cancelled", "paused"), seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    job: dict = {}
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/surveys/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.1)
    raise AssertionError(f"survey {job_id} still {job.get('status')} after {seconds}s")


def upload_api(client, text: str, name: str = "population.csv", **fields) -> object:
    return client.post("/api/v1/surveys", files={"file": (name, text.encode(), "text/csv")}, data=fields)


def test_api_upload_runs_the_survey_and_reports_like_the_cli(client, data_dir):
    answer = upload_api(client, POPULATION, "../../etc/evil.csv", group_column="region", name_column="commune",
                        functions="mail dns")
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "queued" and body["total"] == 3 and body["bad_rows"] == 1
    assert answer.headers["location"] == f"/api/v1/surveys/{body['id']}"
    stored = Path(SurveyStore(client.app.state.ctx.store).find(str(body["survey_id"]))["input"])
    assert stored.parent == (data_dir / "uploads").resolve() and stored.suffix == ".csv"
    assert "evil" not in stored.name  # a name of ours
    assert not list((data_dir / "uploads").iterdir())  # deleted once the run registered its targets
    job = wait_survey(client, body["id"])
    assert job["status"] == "done", job
    assert job["done"] == job["total"] == 3 and job["counts"]["by_status"]["ok"] == 3
    assert job["counts"]["by_verdict"]["exposed"] >= 2  # Microsoft and Google mail
    report = client.get(f"/api/v1/surveys/{body['id']}/report").json()
    assert report["run"]["total"] == 3 and report["aggregate"]["domains"] == 3
    assert report["aggregate"]["group_by"] == "region"  # the mapped group column
    assert {g["group"] for g in report["aggregate"]["groups"]} == {"84", "11"}
    assert report["aggregate"]["functions"]["mail"]["foreign"] == 2
    assert client.get(f"/api/v1/surveys/{body['id']}/report?group_by=nope").status_code == 400


def test_json_submission_and_paginated_rows(client):
    answer = client.post("/api/v1/surveys", json={"domains": ["m365.test", "ovhmail.test", "gworkspace.test"],
                                                  "functions": ["mail"]})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    assert wait_survey(client, job_id)["status"] == "done"
    first = client.get(f"/api/v1/surveys/{job_id}/rows?per_page=2").json()
    assert first["count"] == 3 and first["pages"] == 2 and len(first["rows"]) == 2
    assert [row["domain"] for row in first["rows"]] == ["m365.test", "ovhmail.test"]  # input order
    assert first["links"]["next"].endswith("page=2") and "prev" not in first["links"]
    second = client.get(first["links"]["next"]).json()
    assert [row["domain"] for row in second["rows"]] == ["gworkspace.test"] and "next" not in second["links"]
    assert second["rows"][0]["mail_controller"]
    assert client.get(f"/api/v1/surveys/{job_id}/rows?per_page=9999").status_code == 400
    listed = client.get("/api/v1/surveys").json()["surveys"]
    assert [s["id"] for s in listed] == [job_id]


def test_rows_carry_the_registry_columns_when_the_survey_asked_for_them(client):
    from souverain.kb.base import load_kb

    AFNIC = load_kb().entities["afnic"].name
    answer = client.post("/api/v1/surveys", json={"domains": ["m365.test", "mairie.fr"], "functions": ["mail", "registry"]})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    assert wait_survey(client, job_id)["status"] == "done"
    rows = {row["domain"]: row for row in client.get(f"/api/v1/surveys/{job_id}/rows").json()["rows"]}
    assert (rows["mairie.fr"]["registry_service"], rows["mairie.fr"]["registry_country"],
            rows["mairie.fr"]["registry_foreign"], rows["mairie.fr"]["registry_tier"]) == (AFNIC, "FR", False, "verified")
    assert (rows["m365.test"]["registry_status"], rows["m365.test"]["registry_tier"]) == ("unknown", "unknown")
    assert rows["m365.test"]["registrar_status"] is None  # not asked for
    exported = {row["domain"]: row for row in csv.DictReader(io.StringIO(client.get(f"/surveys/{job_id}/export/csv").text))}
    assert exported["mairie.fr"]["registry_service"] == AFNIC and exported["m365.test"]["registrar_service"] == ""


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"domains": []}, 400, "no domain"),
    ({"domains": "m365.test"}, 400, "expected"),
    ({"domains": ["m365.test"], "functions": ["ftp"]}, 400, "ftp"),
    ({"domains": ["not a domain"]}, 400, "no valid domain"),
    ({"rows": [{"site": "m365.test"}], "domain_column": "nope"}, 400, "nope"),
])
def test_bad_survey_requests_are_problems(client, body, status, detail, data_dir):
    answer = client.post("/api/v1/surveys", json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert detail in answer.json()["detail"]
    assert not list((data_dir / "uploads").glob("*")) if (data_dir / "uploads").exists() else True


def test_upload_limits_and_types(tmp_path, world_dns):
    settings = SurveySettings(data_dir=tmp_path / "d", max_upload=2048)
    with make_client(tmp_path, world_dns, survey=settings) as small:
        big = upload_api(small, "domain\n" + "m365.test\n" * 400)
        assert big.status_code == 413 and big.headers["content-type"].startswith(PROBLEM)
        exe = upload_api(small, "MZ", "tool.exe")
        assert exe.status_code == 415
        assert not list((tmp_path / "d" / "uploads").glob("*"))  # nothing left behind


def test_unknown_survey_and_scan_ids_do_not_mix(client):
    scan = client.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["mail"]}).json()["id"]
    assert client.get(f"/api/v1/surveys/{scan}").status_code == 404
    survey = client.post("/api/v1/surveys", json={"domains": ["m365.test"], "functions": ["mail"]}).json()["id"]
    assert client.get(f"/api/v1/scans/{survey}").status_code == 404
    assert client.post(f"/api/v1/surveys/{survey}/report").status_code in (404, 405)


def test_private_targets_are_refused_per_target(tmp_path, ssrf_dns):
    with make_client(tmp_path, ssrf_dns, allow_private_targets=False,
                     survey=SurveySettings(data_dir=tmp_path / "d")) as guarded:
        answer = guarded.post("/api/v1/surveys", json={"domains": ["loopback.ssrf.test", "private.ssrf.test",
                                                                   "wwwprivate.ssrf.test", "public.ssrf.test"],
                                                       "functions": ["dns"]})
        assert answer.status_code == 202
        job = wait_survey(guarded, answer.json()["id"])
        assert job["status"] == "done" and job["counts"]["refused"] == 3, job
        rows = {r["domain"]: r for r in guarded.get(f"/api/v1/surveys/{job['id']}/rows").json()["rows"]}
        assert rows["loopback.ssrf.test"]["reason"].startswith("refused: loopback.ssrf.test resolves to 127.0.0.1")
        assert "www.wwwprivate.ssrf.test resolves to 10.9.9.9 (private" in rows["wwwprivate.ssrf.test"]["reason"]
        assert not (rows["public.ssrf.test"]["reason"] or "").startswith("refused")


WORLD_ZONES = Path(__file__).parents[1] / "data" / "world" / "zones"
DOMAINS = sorted(p.name.removesuffix(".zone") for p in WORLD_ZONES.glob("*.test.zone"))[:30]


@pytest.fixture
def slow_scans(monkeypatch):
    """Every domain of a survey takes 0.1 s more: a survey long enough to pause."""
    import asyncio

    from souverain.survey import runner

    real = runner.scan_row

    async def slow(*args, **kwargs):
        await asyncio.sleep(0.1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(runner, "scan_row", slow)


def test_pause_resume_cancel_and_retry_through_the_api(tmp_path, world_dns, slow_scans):
    with make_client(tmp_path, world_dns, survey=SurveySettings(data_dir=tmp_path / "d", concurrency=4)) as api:
        pool = api.app.state.ctx.jobs
        job_id = api.post("/api/v1/surveys", json={"domains": DOMAINS, "functions": ["mail"]}).json()["id"]
        wait_survey(api, job_id, ("running",))
        deadline = time.monotonic() + 30
        while api.get(f"/api/v1/surveys/{job_id}").json()["done"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        paused = api.post(f"/api/v1/surveys/{job_id}/pause")
        assert paused.status_code == 202
        job = wait_survey(api, job_id, ("paused",))
        assert 0 < job["done"] < job["total"] and job["rate"] is None
        assert api.post(f"/api/v1/surveys/{job_id}/pause").status_code == 409
        surveys = SurveyStore(pool.store)
        assert surveys.find(str(job["survey_id"]))["status"] == "interrupted"
        done_before = job["done"]
        assert api.post(f"/api/v1/surveys/{job_id}/resume").status_code == 202
        wait_survey(api, job_id, ("running",))
        assert api.post(f"/api/v1/surveys/{job_id}/cancel").status_code == 202
        job = wait_survey(api, job_id, ("cancelled", "done"))
        assert job["done"] >= done_before
        assert api.post(f"/api/v1/surveys/{job_id}/cancel").status_code == 409
        assert api.post(f"/api/v1/surveys/{job_id}/resume").status_code == 202  # a cancelled run may go on
        job = wait_survey(api, job_id, ("done",), seconds=120)
        assert job["done"] == job["total"] == len(DOMAINS)
        rows = [r.domain for r in surveys.results(job["survey_id"])]
        assert sorted(rows) == sorted(DOMAINS)  # every domain once: nothing lost, nothing twice
        # retry-unknown scans the unknown results again, and only them
        before = {r.domain: r for r in surveys.results(job["survey_id"])}
        with pool.store.engine.begin() as conn:
            from souverain.store.surveys import survey_results

            conn.execute(survey_results.update().where(survey_results.c.domain == "m365.test")
                         .values(status="unknown", reason="timeout", mail_controller=None))
        assert api.post(f"/api/v1/surveys/{job_id}/retry").status_code == 202
        job = wait_survey(api, job_id, ("done",), seconds=60)
        after = {r.domain: r for r in surveys.results(job["survey_id"])}
        assert after["m365.test"].reason != "timeout" and after["m365.test"].mail_controller
        assert after["m365.test"].status == before["m365.test"].status == "ok"
        assert sorted(after) == sorted(DOMAINS)


def test_an_interrupted_survey_resumes_at_start_without_duplicates(tmp_path, world_dns):
    pool = Jobs(Store.open(f"sqlite:///{tmp_path / 'web.db'}"),
                ScanSettings(nameservers=[("127.0.0.1", world_dns.port)], timeout=1, allow_private_targets=True),
                surveys=SurveySettings(data_dir=tmp_path / "data"))
    path = tmp_path / "data" / "in.txt"
    path.parent.mkdir()
    path.write_text("\n".join(DOMAINS[:10]) + "\n")
    assert "m365.test" not in DOMAINS[:4]
    from souverain.web.survey_jobs import register, run_survey_job

    registered = register(pool, path, fmt=None, domain_column=None, name="restart", functions=("mail",))
    surveys = SurveyStore(pool.store)
    # a first server scanned 4 domains, then died with the job running
    from souverain.store.surveys import summarise_domain

    surveys.write(registered.survey_id, [summarise_domain(d, [], None) for d in DOMAINS[:4]])
    with pool.store.engine.begin() as conn:
        conn.execute(jobs.update().where(jobs.c.id == registered.job_id).values(status="running", attempts=1))
    import asyncio

    async def restart() -> None:
        await pool.start()  # queues the running job again
        assert pool.get(registered.job_id)["status"] == "queued"  # no longer "running"
        await pool.stop()

    asyncio.run(restart())
    assert pool.get(registered.job_id)["status"] == "queued"
    run_survey_job(pool, registered.job_id)
    job = pool.get(registered.job_id)
    assert job["status"] == "done" and job["done"] == 10
    rows = list(surveys.results(registered.survey_id))
    assert [r.domain for r in rows] == DOMAINS[:10]
    assert [r.mail_controller for r in rows[:4]] == [None] * 4  # the first server's rows were kept, not redone
    assert any(r.mail_controller for r in rows[4:])


def test_survey_pages_upload_mapping_monitor_report_diff_exports(client, data_dir):
    form = client.get("/surveys")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    token = csrf_of(client, "/surveys")
    refused = client.post("/surveys/upload", files={"file": ("p.csv", POPULATION.encode(), "text/csv")},
                          data={"csrf": "forged"})
    assert refused.status_code == 403
    assert not list((data_dir / "uploads").glob("*"))  # a forged form leaves no file
    uploaded = client.post("/surveys/upload", files={"file": ("p.csv", POPULATION.encode(), "text/csv")},
                           data={"csrf": token}, follow_redirects=False)
    assert uploaded.status_code == 303
    mapping_url = uploaded.headers["location"]
    page = client.get(mapping_url)
    assert '<option value="domain" selected>' in page.text and "region" in page.text
    started = client.post(mapping_url, data={"csrf": token, "domain_column": "domain", "group_column": "region",
                                             "name_column": "commune", "functions": ["mail", "dns"],
                                             "name": "communes"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].rsplit("/", 1)[1]
    assert wait_survey(client, job_id)["status"] == "done"
    monitor = client.get(f"/surveys/{job_id}")
    assert 'id="n-ok">3<' in monitor.text and "/static/survey.js" not in monitor.text  # done: no live script
    events = client.get(f"/surveys/{job_id}/events")
    assert events.headers["content-type"].startswith("text/event-stream")
    assert json.loads(events.text.split("data: ", 1)[1])["status"] == "done"
    report = client.get(f"/surveys/{job_id}/report.html")
    assert "sandbox" in report.headers["content-security-policy"]
    assert "84" in report.text
    exported = client.get(f"/surveys/{job_id}/export/csv")
    cells = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(cells) == 3
    assert cells[1]["attr_commune"].startswith("'=")  # neutralised against formula injection
    lines = client.get(f"/surveys/{job_id}/export/jsonl").text.splitlines()
    assert [json.loads(line)["domain"] for line in lines] == ["m365.test", "ovhmail.test", "gworkspace.test"]
    assert client.get(f"/surveys/{job_id}/export/json").json()["run"]["total"] == 3
    assert client.get(f"/surveys/{job_id}/export/html").headers["content-disposition"].startswith("attachment")
    assert client.get(f"/surveys/{job_id}/export/exe").status_code == 404
    # a second run with one domain that moved provider: the diff shows it
    second = client.post("/api/v1/surveys", json={"rows": [{"domain": "m365.test"}, {"domain": "ovhmail.test"}],
                                                  "functions": ["mail", "dns"]}).json()["id"]
    assert wait_survey(client, second)["status"] == "done"
    with client.app.state.ctx.store.engine.begin() as conn:
        from souverain.store.surveys import survey_results

        survey_id = client.get(f"/api/v1/surveys/{second}").json()["survey_id"]
        conn.execute(survey_results.update().where(survey_results.c.survey_id == survey_id,
                                                   survey_results.c.domain == "ovhmail.test")
                     .values(mail_service="Elsewhere Mail"))
    diff = client.get(f"/surveys/{second}/diff?against={job_id}")
    assert diff.status_code == 200 and "Elsewhere Mail" in diff.text and "ovhmail.test" in diff.text
    assert "m365.test</td>" not in diff.text  # unchanged domains are not listed
    diff_csv = client.get(f"/surveys/{second}/diff?against={job_id}&format=csv")
    assert diff_csv.text.splitlines()[0] == "domain,function,before,after,foreign_before,foreign_after"
    assert client.get(f"/surveys/{second}/diff?against={second}").status_code == 404


def test_mapping_errors_stay_on_the_mapping_page(client, data_dir):
    token = csrf_of(client, "/surveys")
    uploaded = client.post("/surveys/upload", files={"file": ("p.csv", b"site,region\nnot a domain,1\n", "text/csv")},
                           data={"csrf": token}, follow_redirects=False)
    url = uploaded.headers["location"]
    page = client.post(url, data={"csrf": token, "domain_column": "site", "functions": ["mail"]})
    assert page.status_code == 400 and "no valid domain" in page.text
    assert client.get("/surveys/map/../../etc").status_code == 404
    assert client.get("/surveys/map/" + "0" * 32).status_code == 404


def test_controls_need_csrf(client):
    job_id = client.post("/api/v1/surveys", json={"domains": ["m365.test"], "functions": ["mail"]}).json()["id"]
    csrf_of(client, "/surveys")
    assert client.post(f"/surveys/{job_id}/pause", data={"csrf": "forged"}).status_code == 403


def test_openapi_documents_the_survey_endpoints(client):
    document = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/surveys", "/api/v1/surveys/{id}", "/api/v1/surveys/{id}/report",
                 "/api/v1/surveys/{id}/rows", "/api/v1/surveys/{id}/pause", "/api/v1/surveys/{id}/cancel",
                 "/api/v1/surveys/{id}/resume"):
        assert path in document["paths"], path
    assert "multipart/form-data" in document["paths"]["/api/v1/surveys"]["post"]["requestBody"]["content"]
    assert document["components"]["schemas"]["SurveyJob"]["properties"]["eta_seconds"]


def test_data_folder_only(tmp_path, world_dns):
    """Uploads land in DATA/uploads and nowhere else (no temporary file in the system's folder)."""
    import tempfile

    before = set(Path(tempfile.gettempdir()).iterdir())
    data = tmp_path / "data"
    with make_client(tmp_path, world_dns, survey=SurveySettings(data_dir=data)) as c:
        big = "domain\n" + "".join(f"x{i}.m365.test\n" for i in range(80_000))  # over Starlette's 1 MB spool
        answer = upload_api(c, big, functions="mail")
        assert answer.status_code == 202, answer.text
        c.post(f"/api/v1/surveys/{answer.json()['id']}/cancel")
        stored = Path(SurveyStore(c.app.state.ctx.store).find(str(answer.json()["survey_id"]))["input"])
    after = set(Path(tempfile.gettempdir()).iterdir())
    assert not {p for p in after - before if p.is_file() and p.stat().st_size > 1_000_000}
    assert stored.parent == (data / "uploads").resolve()  # where it was written, and deleted once registered
    assert not list((data / "uploads").iterdir())


def test_an_abandoned_mapping_step_loses_its_upload_after_a_while(client, data_dir):
    """An upload never mapped to a survey is deleted once older than uploads.MAX_AGE (at the next
    upload or look-up); a fresh one is kept."""
    import os

    from souverain.web import uploads

    token = csrf_of(client, "/surveys")

    def upload() -> str:
        answer = client.post("/surveys/upload", files={"file": ("p.csv", POPULATION.encode(), "text/csv")},
                             data={"csrf": token}, follow_redirects=False)
        assert answer.status_code == 303
        return answer.headers["location"]

    abandoned = upload()
    [old] = (data_dir / "uploads").iterdir()
    stale = old.stat().st_mtime - uploads.MAX_AGE - 5
    os.utime(old, (stale, stale))
    (data_dir / "uploads" / "notes.txt").write_text("not an upload")  # only our own names are swept
    fresh = upload()
    assert not old.exists() and (data_dir / "uploads" / "notes.txt").exists()
    assert client.get(abandoned).status_code == 404
    assert client.get(fresh).status_code == 200
    started = client.post(fresh, data={"csrf": token, "domain_column": "domain", "functions": ["mail"]},
                          follow_redirects=False)
    assert started.status_code == 303, started.text
    assert [p.name for p in (data_dir / "uploads").iterdir()] == ["notes.txt"]
    assert wait_survey(client, started.headers["location"].rsplit("/", 1)[1])["status"] == "done"


@pytest.mark.parametrize("kind", ["xlsx", "ods"])
def test_spreadsheet_uploads(client, tmp_path, kind, data_dir):
    from souverain.testing.spreadsheets import write_ods, write_xlsx

    path = tmp_path / f"population.{kind}"
    rows = [["Commune", "Site web", "Région"], ["Alpha", "https://www.m365.test/", "84"], ["Beta", "ovhmail.test", "11"]]
    (write_xlsx if kind == "xlsx" else write_ods)(path, {"Communes": rows})
    token = csrf_of(client, "/surveys")
    assert f".{kind}" in client.get("/surveys").text  # offered in the file picker
    uploaded = client.post("/surveys/upload", files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
                           data={"csrf": token}, follow_redirects=False)
    assert uploaded.status_code == 303
    page = client.get(uploaded.headers["location"])
    assert '<option value="Site web"' in page.text and '<option value="Région"' in page.text
    started = client.post(uploaded.headers["location"], data={
        "csrf": token, "domain_column": "Site web", "group_column": "Région", "name_column": "Commune",
        "functions": ["mail"]}, follow_redirects=False)
    assert started.status_code == 303, started.text
    job = wait_survey(client, started.headers["location"].rsplit("/", 1)[1])
    assert job["status"] == "done" and job["total"] == 2
    report = client.get(f"/api/v1/surveys/{job['id']}/report").json()
    assert {g["group"] for g in report["aggregate"]["groups"]} == {"84", "11"}


def test_a_broken_spreadsheet_is_a_clear_problem(client, data_dir):
    answer = upload_api(client, "PK\x03\x04 not really a zip", "broken.xlsx")
    assert answer.status_code == 400 and answer.headers["content-type"].startswith(PROBLEM)
    assert str(data_dir) not in answer.text  # the stored file's path is not shown
    assert not list((data_dir / "uploads").glob("*"))


def test_csv_export_has_every_attribute_even_when_the_first_row_lacks_it(client):
    job_id = client.post("/api/v1/surveys", json={"rows": [{"domain": "m365.test"},
                                                           {"domain": "ovhmail.test", "region": "=11"}],
                                                  "functions": ["mail"]}).json()["id"]
    assert wait_survey(client, job_id)["status"] == "done"
    exported = client.get(f"/surveys/{job_id}/export/csv")
    assert exported.headers["content-disposition"] == f'attachment; filename="souverain-survey-{job_id}.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["attr_region"] for row in rows] == ["", "'=11"]  # a formula start neutralised


def test_uploads_are_rate_limited_before_anything_is_written(tmp_path, world_dns, data_dir):
    with make_client(tmp_path, world_dns, rate=2, survey=SurveySettings(data_dir=data_dir)) as client:
        token = csrf_of(client, "/surveys")
        codes = [client.post("/surveys/upload", files={"file": ("p.csv", POPULATION.encode(), "text/csv")},
                             data={"csrf": token}, follow_redirects=False).status_code for _ in range(3)]
        assert codes == [303, 303, 429]
        assert len(list((data_dir / "uploads").glob("*"))) == 2  # the refused upload left no file
