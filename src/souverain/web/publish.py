"""Published reports: a read-only URL ``/p/TOKEN`` for a scan result or a survey report, readable
without signing in (even when the server asks for a token), revocable. The token is random
(192 bits); a published page shows the report only: no form, no link into the application."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from souverain.store.database import metadata
from souverain.web import api
from souverain.web.pages import checked_form, language, render
from souverain.web.security import REPORT_CSP

published = sa.Table(
    "web_published", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # scan | survey
    sa.Column("job_id", sa.String(32), nullable=False),
    sa.Column("created", sa.String(32), nullable=False),
    sa.Column("revoked", sa.String(32)),
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _engine(request: Request) -> Any:
    engine = request.app.state.ctx.store.engine
    published.create(engine, checkfirst=True)  # a database made before publishing existed
    return engine


def create(request: Request, kind: str, job_id: str) -> str:
    token = secrets.token_urlsafe(24)
    with _engine(request).begin() as conn:
        conn.execute(published.insert().values(token=token, kind=kind, job_id=job_id, created=_now()))
    return token


def find(request: Request, token: str) -> dict[str, Any]:
    """A live publication (404 for an unknown or revoked token, and for a job that is gone)."""
    with _engine(request).connect() as conn:
        row = conn.execute(sa.select(published).where(published.c.token == token,
                                                      published.c.revoked.is_(None))).first()
    job = request.app.state.ctx.jobs.get(row.job_id) if row is not None else None
    if row is None or job is None or job["kind"] != row.kind:
        raise api.Problem(404, "Not found", "this report is not published (or no longer)")
    return {**row._mapping, "job": job}


async def publish_job(request: Request) -> Response:
    await checked_form(request)
    kind = "survey" if request.url.path.startswith("/surveys/") else "scan"
    job = request.app.state.ctx.jobs.get(request.path_params["id"])
    if job is None or job["kind"] != kind:
        raise api.Problem(404, "Not found", f"no {kind} job {request.path_params['id']!r}")
    if kind == "scan" and job["status"] != "done":
        raise api.Problem(409, "Not ready", f"scan {job['id']} is {job['status']}")
    create(request, kind, job["id"])
    return RedirectResponse("/published", status_code=303)


async def published_list(request: Request) -> Response:
    with _engine(request).connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(sa.select(published).order_by(published.c.created.desc()))]
    return render(request, "published_list.html.j2", rows=rows, base=str(request.base_url).rstrip("/"))


async def revoke(request: Request) -> Response:
    await checked_form(request)
    with _engine(request).begin() as conn:
        changed = conn.execute(published.update().where(published.c.token == request.path_params["token"],
                                                        published.c.revoked.is_(None))
                               .values(revoked=_now())).rowcount
    if not changed:
        raise api.Problem(404, "Not found", "no such publication")
    return RedirectResponse("/published", status_code=303)


def _title(request: Request, found: dict[str, Any]) -> str:
    job = found["job"]
    if found["kind"] == "survey":
        return str(job["params"]["name"])
    return ", ".join(job["params"]["domains"])


async def public_page(request: Request) -> Response:
    found = find(request, request.path_params["token"])
    return render(request, "published.html.j2", kind=found["kind"], title=_title(request, found),
                  token=found["token"], created=found["created"])


async def public_report(request: Request) -> Response:
    found = find(request, request.path_params["token"])
    job = found["job"]
    if found["kind"] == "survey":
        from souverain.web.surveys import report_html

        html = report_html(request, job)
    else:
        from souverain.model.load import load
        from souverain.model.scan import ScanResult
        from souverain.report.html import scan_html

        html = scan_html(load(ScanResult, api.scan_document(request, job)), language(request), *api.report_kb())
    return HTMLResponse(html, headers={"content-security-policy": REPORT_CSP, "cache-control": "no-store"})


ROUTES = [
    Route("/scans/{id}/publish", publish_job, methods=["POST"]),
    Route("/surveys/{id}/publish", publish_job, methods=["POST"]),
    Route("/published", published_list),
    Route("/published/{token}/revoke", revoke, methods=["POST"]),
    Route("/p/{token}", public_page),
    Route("/p/{token}/report.html", public_report),
]
