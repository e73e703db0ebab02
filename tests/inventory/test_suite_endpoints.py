"""The web endpoints of the big suites (issue 15 item 3): a SaaS register or a HAR file naming the
hosts people actually use (Outlook on the web, Gmail, Drive, Teams, Zoom...) lands on the service
that holds the data, from the vendors' published endpoint lists, not on a catch-all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from souverain.cli.main import cli

# (application, URL, service, function): one register row each, from line 2
ROWS = [
    ("Messagerie", "https://outlook.office365.com/mail/", "exchange-online", "email.inbound"),
    ("Webmail", "https://outlook.office.com/mail/inbox", "exchange-online", "email.inbound"),
    ("Courriel", "https://outlook.cloud.microsoft/mail/", "exchange-online", "email.inbound"),
    ("Portail", "https://www.office.com/", "microsoft-365-tenant", "saas"),
    ("Accueil", "https://m365.cloud.microsoft/", "microsoft-365-tenant", "saas"),
    ("Tableur en ligne", "https://excel.officeapps.live.com/x/", "microsoft-365-tenant", "saas"),
    ("Connexion", "https://login.microsoftonline.com/common/oauth2", "microsoft-365-tenant", "saas"),
    ("Visio", "https://teams.microsoft.com/v2/", "microsoft-teams", "saas"),
    ("Fichiers", "https://acme-my.sharepoint.com/personal/", "microsoft-sharepoint-online", "saas"),
    ("Messagerie G", "https://mail.google.com/", "google-workspace-mail", "email.inbound"),
    ("Documents", "https://docs.google.com/document/d/1x/edit", "google-workspace-suite", "saas"),
    ("Stockage", "https://drive.google.com/drive/my-drive", "google-workspace-suite", "saas"),
    ("Réunions", "https://meet.google.com/abc-defg-hij", "google-workspace-suite", "saas"),
    ("Webinaires", "https://acme.zoom.us/j/123", "zoom-workplace", "saas"),
    ("Partage", "https://acme.app.box.com/folder/0", "box-content-cloud", "saas"),
    ("Ventes", "https://login.salesforce.com/", "salesforce-crm", "saas"),
    ("Tickets", "https://admin.atlassian.com/o/1/overview", "atlassian-cloud", "saas"),
    ("Coffre", "https://www.dropboxbusiness.com/", "dropbox-storage", "saas"),
]


def _inventory(path: Path) -> dict:
    result = CliRunner().invoke(cli, ["inventory", str(path), "--format", "json", "--at", "2026-12-07"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_saas_register_urls_resolve_to_the_suite_services(tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text("Application,URL\n" + "".join(f"{name},{url}\n" for name, url, _, _ in ROWS), encoding="utf-8")
    report = _inventory(path)
    line_of = {e["id"]: e["detail"]["line"] for e in report["evidence"]["inventory"]}
    found = {line_of[ref]: ((dep["service"] or {}).get("id"), dep["function"], dep["tier"])
             for dep in report["dependencies"] for ref in dep["evidence"]}
    expected = {line: (service, function, "verified") for line, (_, _, service, function) in enumerate(ROWS, start=2)}
    assert found == expected
    rules = {dep["service"]["id"]: dep["rule"] for dep in report["dependencies"]}
    assert rules["google-workspace-mail"] == "services/google-workspace-mail.yaml fingerprints.host: mail.google.com"
    assert all(rule.split(" fingerprints.")[1].startswith("host: ") for rule in rules.values())


def test_shared_hosts_stay_off_the_workloads(tmp_path: Path) -> None:
    """Consumer Outlook.com and the shared Google sign-in are not a mailbox service; Calendar, for
    which no Google endpoint page was found, stays on the generic Google record."""
    path = tmp_path / "register.csv"
    path.write_text("Application,URL\nA,https://outlook.live.com/mail/\nB,https://accounts.google.com/\n"
                    "C,https://calendar.google.com/\n", encoding="utf-8")
    services = {(dep["service"] or {}).get("id") for dep in _inventory(path)["dependencies"]}
    assert services.isdisjoint({"exchange-online", "google-workspace-mail", "google-workspace-suite"})
    assert "google-web" in services


def _entry(url: str) -> dict:
    return {"pageref": "page_1", "startedDateTime": "2026-12-07T10:00:00.000Z", "time": 10,
            "request": {"method": "GET", "url": url, "httpVersion": "HTTP/2", "headers": [], "queryString": [],
                        "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": 200}, "cache": {}, "timings": {}}


def test_har_requests_to_suite_hosts(tmp_path: Path) -> None:
    """An intranet page embedding an Outlook calendar and a Google Form: both are third parties of
    the page, attributed to the suite service the request reaches."""
    har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                   "pages": [{"startedDateTime": "2026-12-07T10:00:00.000Z", "id": "page_1",
                              "title": "https://intranet.acme.example/", "pageTimings": {}}],
                   "entries": [_entry("https://intranet.acme.example/"),
                               _entry("https://outlook.office365.com/owa/calendar/published.html"),
                               _entry("https://docs.google.com/forms/d/e/1x/viewform?embedded=true")]}}
    path = tmp_path / "session.har"
    path.write_text(json.dumps(har), encoding="utf-8")
    deps = {(dep["service"] or {}).get("id"): dep for dep in _inventory(path)["dependencies"]}
    assert set(deps) == {"exchange-online", "google-workspace-suite"}
    assert {dep["function"] for dep in deps.values()} == {"web.third_party"}
    assert deps["exchange-online"]["rule"].endswith("fingerprints.host: outlook.office365.com")
