"""Server-rendered pages (Jinja), in French and English: scan form, progress, result and
downloads; KB search, who and record pages; assess and compare; login."""

from __future__ import annotations

import asyncio
import functools
import json
import re
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from souverain.errors import UsageError
from souverain.report.i18n import LANGUAGES, Translator
from souverain.web import api
from souverain.web.security import (
    CSRF_COOKIE,
    REPORT_CSP,
    SESSION_COOKIE,
    SESSION_SECONDS,
    new_csrf_token,
    same,
)

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "souverain_lang"
DOWNLOADS = {"json": "application/json", "csv": "text/csv", "sarif": "application/sarif+json", "html": "text/html"}
__all__ = ["ROUTES", "SESSION_COOKIE", "error_page"]


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def language(request: Request) -> str:
    """?lang=, else the cookie a previous switch set, else Accept-Language, else the server's --lang."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    ranked = []
    for part in request.headers.get("accept-language", "").split(","):
        code, _, q = part.strip().partition(";q=")
        try:
            ranked.append((float(q or 1), code.split("-")[0].lower()))
        except ValueError:
            continue
    for _, code in sorted(ranked, key=lambda item: -item[0]):
        if code in LANGUAGES:
            return code
    default: str = request.app.state.ctx.settings.lang
    return default


def switch_url(request: Request, lang: str) -> str:
    """This page in another language (the query kept, lang replaced)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    from urllib.parse import urlencode

    return f"{request.url.path}?{urlencode(query)}"


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    lang = language(request)
    csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    html = environment().get_template(template).render(
        t=Translator(lang, api.report_kb()[0]), lang=lang, csrf=csrf, switch={code: switch_url(request, code) for code in LANGUAGES},
        logged_in=template != "login.html.j2" and request.app.state.ctx.sessions.valid(request.cookies.get(SESSION_COOKIE)),
        **values)
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html.j2", status=status, message=message)


async def checked_form(request: Request) -> Any:
    """The form, after its CSRF token was compared with the cookie's (403 when they differ)."""
    form = await request.form()
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    if not cookie or not same(str(form.get("csrf", "")), cookie):
        raise api.Problem(403, "Forbidden", Translator(language(request))("web.csrf_failed"))
    return form


# -- scans -------------------------------------------------------------------------------
async def scan_form(request: Request) -> Response:
    from souverain.collect.domain import FUNCTION_GROUPS

    return render(request, "scan_form.html.j2", groups=FUNCTION_GROUPS, error=None, domains="")


async def scan_post(request: Request) -> Response:
    from souverain.collect.domain import FUNCTION_GROUPS

    form = await checked_form(request)
    text = str(form.get("domains", ""))
    data = {"domains": [d for d in re.split(r"[\s,;]+", text) if d], "functions": form.getlist("functions")}
    try:
        domains, functions = api.scan_request(data)
        job_id = await api.submit_scan(domains, functions, request)
    except api.Problem as problem:
        return render(request, "scan_form.html.j2", status=problem.status, groups=FUNCTION_GROUPS,
                      error=problem.detail or problem.title, domains=text)
    return RedirectResponse(f"/scans/{job_id}", status_code=303)


def _stored_result(request: Request, job: dict[str, Any]) -> Any:
    from souverain.model.load import load
    from souverain.model.scan import ScanResult

    if job["status"] != "done":
        raise api.Problem(404, "Not ready", f"scan {job['id']} is {job['status']}")
    return load(ScanResult, api.scan_document(request, job))


async def scan_page(request: Request) -> Response:
    from souverain.report.render import verdict_lines

    job = api.find_job(request)
    if job["status"] != "done":
        return render(request, "scan_progress.html.j2", job=job)
    result = _stored_result(request, job)
    t = Translator(language(request), api.report_kb()[0])
    history, moved = what_moved(request, job, t)
    return render(request, "scan_result.html.j2", job=job, result=result, verdict=verdict_lines(result, t),
                  history=history, moved=moved, formats=list(DOWNLOADS))


def what_moved(request: Request, job: dict[str, Any], t: Translator) -> tuple[list[dict[str, Any]], list[str]]:
    """The stored scans of the first domain, and what moved for each domain since its scan before this one."""
    from souverain.store.history import history

    store = request.app.state.ctx.store
    group_of = {fid: info.collected_by for fid, info in api.knowledge().functions.items()}
    scans: list[dict[str, Any]] = []
    moved: list[str] = []
    for index, domain in enumerate(job["params"]["domains"]):
        found = history(store, domain, group_of)
        if index == 0:
            scans = found.scans
        moved += [t("history.change", function=change.function, before=", ".join(change.before) or "-",
                    after=", ".join(change.after) or "-", since=change.since, until=change.until)
                  for change in found.changes if change.scan_after == job["scan_id"]]
    return scans, moved


async def scan_events(request: Request) -> Response:
    """Server-sent events: the job's status and counts every half second until it ends."""
    jobs = request.app.state.ctx.jobs
    job_id = api.find_job(request)["id"]

    async def stream() -> Any:
        while True:
            job = jobs.get(job_id)
            if job is None:
                return
            yield f"data: {json.dumps(api.job_view(job))}\n\n"
            if job["status"] in ("done", "failed") or await request.is_disconnected():
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-store"})


async def scan_report(request: Request) -> Response:
    from souverain.report.html import scan_html

    result = _stored_result(request, api.find_job(request))
    names, sources = api.report_kb()
    return HTMLResponse(scan_html(result, language(request), names, sources),
                        headers={"content-security-policy": REPORT_CSP})


async def scan_download(request: Request) -> Response:
    from souverain.report.render import render_scan

    fmt = request.path_params["fmt"]
    if fmt not in DOWNLOADS:
        raise api.Problem(404, "Unknown format", f"choose among {', '.join(DOWNLOADS)}")
    job = api.find_job(request)
    text = render_scan(_stored_result(request, job), fmt, language(request))
    name = f"souverain-scan-{job['id']}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "html":
        headers["content-security-policy"] = REPORT_CSP
    return Response(text, media_type=DOWNLOADS[fmt], headers=headers)


# -- knowledge base ----------------------------------------------------------------------
async def kb_search(request: Request) -> Response:
    text = request.query_params.get("q", "").strip()
    hits = api.search_kb(api.knowledge(), text) if len(text) >= 2 else []
    return render(request, "kb_search.html.j2", q=text, hits=hits)


async def who_page(request: Request) -> Response:
    from souverain.attribute.who import who

    target = request.query_params.get("target", "").strip()
    if not target:
        return RedirectResponse("/kb", status_code=303)
    at = api.parse_at(request.query_params.get("at"))
    try:
        item = who(api.knowledge(), target, at).data
    except UsageError as exc:
        raise api.Problem(400, "Invalid target", str(exc)) from None
    return render(request, "who.html.j2", item=item, owners=[])


async def record_page(request: Request) -> Response:
    from souverain.attribute.who import who
    from souverain.web import kb_pages

    kb, rid = api.knowledge(), request.path_params["id"]
    if rid not in kb.records:
        raise api.Problem(404, "Not found", f"no record {rid!r} in the knowledge base")
    if kb.kinds[rid] in kb_pages.KINDS:
        return await kb_pages.page(request, kb.kinds[rid], rid)
    at = api.parse_at(request.query_params.get("at"))
    item = who(kb, rid, at).data
    entity = kb.entities.get(rid)
    owners = [{"owner": edge.owner, "name": kb.entities[edge.owner].name if edge.owner in kb.entities else edge.owner,
               "capital": edge.capital_pct, "since": edge.since or edge.since_before, "until": edge.until}
              for edge in (entity.owners if entity else [])]
    return render(request, "who.html.j2", item=item, owners=owners)


# -- assess and compare ------------------------------------------------------------------
def _offers() -> list[tuple[str, str]]:
    kb = api.knowledge()
    return sorted((rid, record.name) for rid, record in kb.assessments.items())


async def assess_page(request: Request) -> Response:
    offer = request.query_params.get("offer") or request.path_params.get("offer")
    if offer:
        api.assessment(api.knowledge(), offer, api.parse_at(None), "csf-2026")  # 404 for an unknown offer
    return render(request, "assess.html.j2", offers=_offers(), offer=offer, chosen=[offer] if offer else [])


async def compare_page(request: Request) -> Response:
    chosen = request.query_params.getlist("offer")
    kb = api.knowledge()
    for offer in chosen:
        api.assessment(kb, offer, api.parse_at(None), "csf-2026")
    return render(request, "compare.html.j2", offers=_offers(), chosen=chosen,
                  query="&".join(f"offer={o}" for o in chosen))


async def assessment_report(request: Request) -> Response:
    from souverain.report.assessment import assessment_html

    offers = request.query_params.getlist("offer")
    if not offers:
        raise api.Problem(400, "No offer", "give offer=ID")
    kb, at = api.knowledge(), api.parse_at(request.query_params.get("at"))
    results = [api.assessment(kb, offer, at, request.query_params.get("profile", "csf-2026")) for offer in offers]
    return HTMLResponse(assessment_html(results, language(request), api.report_kb()[0]),
                        headers={"content-security-policy": REPORT_CSP})


# -- login ---------------------------------------------------------------------------------
def _login(request: Request, status: int = 200, error: str | None = None) -> Response:
    settings = request.app.state.ctx.settings
    return render(request, "login.html.j2", status=status, error=error, with_token=settings.token is not None,
                  with_users=bool(settings.users))


async def login_page(request: Request) -> Response:
    return _login(request)


async def login_post(request: Request) -> Response:
    """The token, or a user's name and password (scrypt, constant time) -> a session cookie."""
    from souverain.web.users import verify

    ctx = request.app.state.ctx
    form = await checked_form(request)
    api.check_rate(request)  # guessing a token or a password takes many tries
    token, users = ctx.settings.token, ctx.settings.users or {}
    if token is None and not users:
        return RedirectResponse("/", status_code=303)
    name = str(form.get("username", "")).strip()
    user: str | None = None
    if name and users:
        ok = await asyncio.to_thread(verify, str(form.get("password", "")), users.get(name))
        user = name
    else:
        ok = token is not None and same(str(form.get("token", "")), token)
    if not ok:
        return _login(request, 401, Translator(language(request))("web.login.wrong_user" if name else "web.login_failed"))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, ctx.sessions.issue(user), max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=ctx.settings.secure_cookies or request.url.scheme == "https")
    return response


async def logout_post(request: Request) -> Response:
    """Revoke the session (its cookie is refused from now on, even if kept) and clear it."""
    ctx = request.app.state.ctx
    await checked_form(request)
    ctx.sessions.revoke(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict",
                           secure=ctx.settings.secure_cookies or request.url.scheme == "https")
    return response


ROUTES = [
    Route("/", scan_form),
    Route("/scan", scan_post, methods=["POST"]),
    Route("/scans/{id}", scan_page),
    Route("/scans/{id}/events", scan_events),
    Route("/scans/{id}/report.html", scan_report),
    Route("/scans/{id}/download/{fmt}", scan_download),
    Route("/kb", kb_search),
    Route("/kb/{id}", record_page),
    Route("/who", who_page),
    Route("/assess", assess_page),
    Route("/assess/{offer}", assess_page),
    Route("/compare", compare_page),
    Route("/report/assessment.html", assessment_report),
    Route("/login", login_page),
    Route("/login", login_post, methods=["POST"]),
    Route("/logout", logout_post, methods=["POST"]),
]
