"""Published reports: /p/TOKEN, read-only, readable without signing in, revocable."""

from __future__ import annotations

import re

import pytest

from souverain.web.jobs import SurveySettings
from tests.web.conftest import csrf_of, make_client, wait_done
from tests.web.test_surveys import wait_survey

TOKEN = "a-long-enough-test-token-0123456789"


@pytest.fixture
def secured(tmp_path, world_dns):
    with make_client(tmp_path, world_dns, token=TOKEN, survey=SurveySettings(data_dir=tmp_path / "data")) as client:
        yield client


def sign_in(client) -> None:
    token = csrf_of(client, "/login")
    answer = client.post("/login", data={"csrf": token, "token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303


def published_urls(client) -> list[str]:
    return re.findall(r'href="(/p/[A-Za-z0-9_-]+)"', client.get("/published").text)


def test_publish_a_scan_then_revoke(secured, tmp_path, world_dns):
    bearer = {"authorization": f"Bearer {TOKEN}"}
    job_id = secured.post("/api/v1/scans", json={"domains": ["m365.test"], "functions": ["mail"]},
                          headers=bearer).json()["id"]
    wait = secured.get(f"/api/v1/scans/{job_id}", headers=bearer)
    assert wait.status_code == 200
    secured.headers.update(bearer)
    assert wait_done(secured, job_id)["status"] == "done"
    secured.headers.pop("authorization")
    sign_in(secured)
    result = secured.get(f"/scans/{job_id}")
    assert f'action="/scans/{job_id}/publish"' in result.text
    csrf = csrf_of(secured, f"/scans/{job_id}")
    assert secured.post(f"/scans/{job_id}/publish", data={"csrf": "forged"}).status_code == 403
    assert secured.post(f"/scans/{job_id}/publish", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    [url] = published_urls(secured)
    assert len(url) > 30  # an unguessable token (192 bits)
    # anyone with the link, without a session: the report, and no form, no link into the application
    with make_client(tmp_path, world_dns, token=TOKEN) as stranger:
        assert stranger.get(f"/scans/{job_id}", follow_redirects=False).status_code == 303  # the app asks to sign in
        page = stranger.get(url)
        assert page.status_code == 200 and "m365.test" in page.text
        assert "<form" not in page.text and 'href="/scans' not in page.text and 'href="/surveys' not in page.text
        report = stranger.get(url + "/report.html")
        assert report.status_code == 200 and "m365.test" in report.text
        assert "sandbox" in report.headers["content-security-policy"]
        assert stranger.get(url + "x").status_code == 404
        assert stranger.get("/published", follow_redirects=False).status_code == 303  # the list is not public
        token = url.rsplit("/", 1)[1]
        assert stranger.post(f"/published/{token}/revoke", data={"csrf": "x"},
                             follow_redirects=False).status_code == 303  # to sign-in, not revoked
        assert stranger.get(url).status_code == 200
    # revoked: the link stops working
    csrf = csrf_of(secured, "/published")
    assert secured.post(f"/published/{token}/revoke", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert secured.get(url).status_code == 404
    assert secured.get(url + "/report.html").status_code == 404
    assert "revoked" in secured.get("/published").text


def test_publish_a_survey_report(tmp_path, world_dns):
    with make_client(tmp_path, world_dns, survey=SurveySettings(data_dir=tmp_path / "data")) as client:
        job_id = client.post("/api/v1/surveys", json={"rows": [{"domain": "m365.test", "region": "84"},
                                                               {"domain": "ovhmail.test", "region": "11"}],
                                                      "group_column": "region", "functions": ["mail"]}).json()["id"]
        assert wait_survey(client, job_id)["status"] == "done"
        csrf = csrf_of(client, f"/surveys/{job_id}")
        assert client.post(f"/surveys/{job_id}/publish", data={"csrf": csrf},
                           follow_redirects=False).status_code == 303
        [url] = published_urls(client)
        page = client.get(url)
        assert page.status_code == 200 and "<form" not in page.text
        report = client.get(url + "/report.html?lang=fr")
        assert report.status_code == 200 and 'lang="fr"' in report.text
        assert client.post(f"/surveys/{job_id}/publish", data={"csrf": csrf}).status_code == 200
        assert len(published_urls(client)) == 2  # each publication has its own link, revoked on its own
        assert client.post("/surveys/nope/publish", data={"csrf": csrf}).status_code == 404
