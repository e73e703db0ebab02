"""The HTTP API: JSON in the CLI's schemas, RFC 9457 problems, persisted jobs resumed at start."""

from __future__ import annotations

import json

import jsonschema
import pytest

from souverain.model.schema import json_schema
from souverain.store.database import Store
from souverain.web.jobs import Jobs, ScanSettings, jobs
from tests.web.conftest import make_client, wait_done

PROBLEM = "application/problem+json"


def test_health(client):
    data = client.get("/api/v1/health").json()
    assert data["status"] == "ok" and data["kb_version"] and data["schema_version"]


def test_scan_lifecycle_returns_the_cli_scan_document(client):
    posted = client.post("/api/v1/scans", json={"domains": ["M365.test"], "functions": ["mail", "dns"]})
    assert posted.status_code == 202
    assert posted.json()["status"] == "queued"
    assert posted.headers["location"] == f"/api/v1/scans/{posted.json()['id']}"
    job = wait_done(client, posted.json()["id"])
    assert job["status"] == "done", job
    assert job["domains"] == ["m365.test"] and job["done"] == job["total"] == 1
    scan = job["scan"]
    jsonschema.validate(scan, json_schema("scan"))
    assert scan["scan"]["stored_id"] >= 1
    inbound = next(d for d in scan["dependencies"] if d["function"] == "email.inbound")
    assert inbound["controller"]["country"] == "US"
    assert not any(d["function"].startswith("web.") for d in scan["dependencies"])  # web was not asked


@pytest.mark.parametrize(("body", "detail"), [
    ({"domains": []}, "domains"),
    ({"domains": "m365.test"}, "domains"),
    ({"domains": ["not a domain"]}, "not a domain"),
    ({"domains": ["http://m365.test"]}, "not a URL"),
    ({"domains": ["m365.test"], "functions": ["ftp"]}, "ftp"),
    ({"domains": [f"d{i}.test" for i in range(101)]}, "at most 100"),
    ([1, 2], "domains"),
])
def test_bad_scan_requests_are_problems(client, body, detail):
    answer = client.post("/api/v1/scans", json=body)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem = answer.json()
    assert problem["status"] == 400 and problem["title"] and detail in problem["detail"]


def test_body_that_is_not_json(client):
    answer = client.post("/api/v1/scans", content=b"domains=m365.test",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["title"] == "Bad JSON"


def test_unknown_scan_and_path_are_404_problems(client):
    for path in ("/api/v1/scans/nope", "/api/v1/nothing-here"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith(PROBLEM)
    assert client.delete("/api/v1/scans").status_code == 405


def test_who(client):
    data = client.get("/api/v1/who/microsoft", params={"at": "2026-11-28"}).json()
    item = data["results"][0]
    assert item["target"] == "microsoft" and item["status"] == "record" and item["at"] == "2026-11-28"
    bad = client.get("/api/v1/who/microsoft", params={"at": "yesterday"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["detail"]


def test_assess_and_compare(client):
    one = client.get("/api/v1/assess/aws-esc")
    assert one.status_code == 200
    jsonschema.validate(one.json(), json_schema("assess"))
    both = client.get("/api/v1/compare", params=[("offer", "aws-esc"), ("offer", "bleu-cloud")]).json()
    assert [o["offer"]["id"] for o in both["offers"]] == ["aws-esc", "bleu-cloud"]
    assert client.get("/api/v1/assess/no-such-offer").status_code == 404
    assert client.get("/api/v1/compare", params={"offer": "aws-esc"}).status_code == 400
    assert client.get("/api/v1/assess/aws-esc", params={"profile": "csf-1999"}).status_code == 400


def test_kb_search(client):
    data = client.get("/api/v1/kb/search", params={"q": "Microsoft"}).json()
    assert {"id": "microsoft", "kind": "entities", "name": "Microsoft Corporation"} in data["results"]
    only = client.get("/api/v1/kb/search", params={"q": "microsoft", "kind": "services"}).json()["results"]
    assert only and all(hit["kind"] == "services" for hit in only)
    assert client.get("/api/v1/kb/search", params={"q": "m"}).status_code == 400


def test_openapi_document_names_every_route_and_resolves_its_references(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    routes = {route.path.replace("{target:path}", "{target}") for route in client.app.routes
              if route.path.startswith("/api/v1/") and route.path != "/api/v1/openapi.json"}
    assert set(doc["paths"]) == routes
    assert {"/api/v1/health", "/api/v1/scans/{id}", "/api/v1/surveys/{id}/rows"} <= routes
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= set(schemas)
    assert "#/$defs/" not in text


def test_interrupted_jobs_resume_at_start(tmp_path, world_dns):
    store = Store.open(f"sqlite:///{tmp_path / 'web.db'}")
    pending = Jobs(store, ScanSettings())
    running = pending.submit(["m365.test"], ("mail",))
    queued = pending.submit(["ovhmail.test"], ("mail",))
    with store.engine.begin() as conn:  # as a server killed in the middle of the first job leaves them
        conn.execute(jobs.update().where(jobs.c.id == running).values(status="running", done=0))
    store.engine.dispose()
    with make_client(tmp_path, world_dns) as client:
        for job_id in (running, queued):
            job = wait_done(client, job_id)
            assert job["status"] == "done", job
            assert job["scan"]["scan"]["domains"] == job["domains"]


def test_a_job_that_fails_says_why_and_the_pool_goes_on(tmp_path):
    from souverain.errors import DataError

    store = Store.open(f"sqlite:///{tmp_path / 'web.db'}")

    def scan(domains, functions, advance):
        if domains == ["bad.test"]:
            raise DataError("the knowledge base is broken")
        raise RuntimeError("a bug")

    pool = Jobs(store, ScanSettings(), scan=scan)
    first, second = pool.submit(["bad.test"], ("mail",)), pool.submit(["bug.test"], ("mail",))
    pool.run(first)
    pool.run(second)
    assert pool.get(first)["status"] == "failed" and pool.get(first)["error"] == "the knowledge base is broken"
    assert pool.get(second)["status"] == "failed" and "a bug" in pool.get(second)["error"]
