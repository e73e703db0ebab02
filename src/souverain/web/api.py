"""The HTTP API under /api/v1: JSON in the CLI's schemas, errors as RFC 9457 problem documents."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from souverain.errors import SouverainError, UsageError, redact
from souverain.version import CODE_VERSION, OUTPUT_SCHEMA_VERSION
from souverain.web.security import TargetRefused, check_targets

PROBLEM = "application/problem+json"
MAX_DOMAINS = 100
PROFILES = ("csf-2025", "csf-2026")


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, kind: str = "about:blank",
                 **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.kind, self.extra = status, title, detail, kind, extra

    def response(self, instance: str) -> JSONResponse:
        body: dict[str, Any] = {"type": self.kind, "title": self.title, "status": self.status, "instance": instance}
        if self.detail:
            body["detail"] = redact(self.detail)
        body.update(self.extra)
        headers = {"www-authenticate": "Bearer"} if self.status == 401 else None
        if self.status == 429:
            headers = {"retry-after": str(self.extra.get("retry_after", 60))}
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM, headers=headers)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/json", headers=headers)


def parse_at(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Problem(400, "Bad date", f"at={text!r} is not a date (YYYY-MM-DD)") from None


def knowledge() -> Any:
    from souverain.kb.base import load_kb

    return load_kb()


_REPORT_KB: dict[int, tuple[Any, Any]] = {}


def report_kb() -> tuple[Any, Any]:
    """The display names and record sources of the loaded KB, for pages and HTML reports (built once
    per KB: laws, functions and regions by name in both languages; sources for the reports' lists)."""
    from souverain.kb.display import display_names, record_sources

    kb = knowledge()
    if id(kb) not in _REPORT_KB:
        _REPORT_KB.clear()
        _REPORT_KB[id(kb)] = (display_names(kb), record_sources(kb))
    return _REPORT_KB[id(kb)]


async def health(request: Request) -> Response:
    return _json({"status": "ok", "version": CODE_VERSION, "schema_version": OUTPUT_SCHEMA_VERSION,
                  "kb_version": knowledge().version})


async def who_target(request: Request) -> Response:
    from souverain.attribute.who import who

    kb = knowledge()
    at = parse_at(request.query_params.get("at"))
    try:
        item = who(kb, request.path_params["target"], at).data
    except UsageError as exc:
        raise Problem(400, "Invalid target", str(exc)) from None
    return _json({"schema_version": OUTPUT_SCHEMA_VERSION, "kb_version": kb.version, "results": [item]})


def scan_request(data: Any) -> tuple[list[str], tuple[str, ...]]:
    """The domains and function groups of a scan request, validated as the CLI validates them."""
    from souverain.collect.domain import FUNCTION_GROUPS
    from souverain.scan import normalise_domains

    if not isinstance(data, dict) or not isinstance(data.get("domains"), list) or not data["domains"]:
        raise Problem(400, "Bad scan request", 'expected {"domains": ["example.fr", ...], "functions": [...]}')
    if len(data["domains"]) > MAX_DOMAINS:
        raise Problem(400, "Too many domains", f"at most {MAX_DOMAINS} domains per scan (one organisation)")
    functions = data.get("functions") or list(FUNCTION_GROUPS)
    if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions) \
            or not all(isinstance(d, str) for d in data["domains"]):
        raise Problem(400, "Bad scan request", "domains and functions are lists of strings")
    unknown = [f for f in functions if f not in FUNCTION_GROUPS]
    if unknown:
        raise Problem(400, "Unknown function", f"unknown {', '.join(unknown)}; choose among {', '.join(FUNCTION_GROUPS)}")
    try:
        domains = normalise_domains(data["domains"])
    except UsageError as exc:
        raise Problem(400, "Invalid domain", str(exc)) from None
    return domains, tuple(dict.fromkeys(functions))


async def submit_scan(domains: list[str], functions: tuple[str, ...], request: Request) -> str:
    """Refuse targets in private space (unless allowed), then queue the job."""
    ctx = request.app.state.ctx
    check_rate(request)
    settings = ctx.jobs.settings
    if not settings.allow_private_targets:
        try:
            await check_targets(domains, settings.nameservers, settings.timeout)
        except TargetRefused as exc:
            raise Problem(422, "Target refused", str(exc), kind="urn:souverain:problem:target-refused",
                          host=exc.host, address_class=exc.kind) from None
    job_id: str = ctx.jobs.submit(domains, functions)
    return job_id


async def post_scan(request: Request) -> Response:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "Bad JSON", "the body is not JSON") from None
    domains, functions = scan_request(data)
    job_id = await submit_scan(domains, functions, request)
    return _json({"id": job_id, "status": "queued"}, status=202, headers={"location": f"/api/v1/scans/{job_id}"})


def check_rate(request: Request) -> None:
    wait = request.app.state.ctx.limits.retry_after(request.client.host if request.client else "?")
    if wait:
        raise Problem(429, "Too many requests", f"try again in {wait} s", retry_after=wait)


def job_view(job: dict[str, Any]) -> dict[str, Any]:
    view = {key: job[key] for key in ("id", "status", "created", "started", "finished", "done", "total")}
    view["domains"] = job["params"]["domains"]
    view["functions"] = job["params"]["functions"]
    if job["error"]:
        view["error"] = job["error"]
    return view


def find_job(request: Request) -> dict[str, Any]:
    job: dict[str, Any] | None = request.app.state.ctx.jobs.get(request.path_params["id"])
    if job is None or job["kind"] != "scan":
        raise Problem(404, "No such scan", f"no scan job {request.path_params['id']!r}")
    return job


def scan_document(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = request.app.state.ctx.jobs.store.document(job["scan_id"])
    document["scan"]["stored_id"] = job["scan_id"]
    return document


async def get_scan(request: Request) -> Response:
    job = find_job(request)
    view = job_view(job)
    if job["status"] == "done":
        view["scan"] = scan_document(request, job)
    return _json(view)


def assessment(kb: Any, offer: str, at: dt.date, profile: str) -> Any:
    from souverain.assess.offer import assess_offer
    from souverain.kb.schema import Assessment

    if profile not in PROFILES:
        raise Problem(400, "Unknown profile", f"profile={profile!r}: choose among {', '.join(PROFILES)}")
    kind = kb.kinds.get(offer)
    if kind == "entities":  # a provider: only the criteria derived from ownership and laws are known
        entity = kb.entities[offer]
        record = Assessment(id=entity.id, name=entity.name, provider=entity.id, category="provider",
                            sources=entity.sources, as_of=entity.as_of)
    elif kind == "assessments":
        record = kb.records[offer]
    else:
        raise Problem(404, "No such offer", f"no assessment or entity {offer!r} in the knowledge base")
    return assess_offer(kb, record, at, profile, None)


async def get_assess(request: Request) -> Response:
    params = request.query_params
    result = assessment(knowledge(), request.path_params["offer"], parse_at(params.get("at")),
                        params.get("profile", "csf-2026"))
    return _json(result.as_dict())


async def get_compare(request: Request) -> Response:
    params = request.query_params
    offers = params.getlist("offer")
    if len(offers) < 2:
        raise Problem(400, "Two offers or more", "give offer=ID at least twice")
    kb, at, profile = knowledge(), parse_at(params.get("at")), params.get("profile", "csf-2026")
    return _json({"profile": profile, "offers": [assessment(kb, offer, at, profile).as_dict() for offer in offers]})


def search_kb(kb: Any, text: str, kind: str | None = None, limit: int = 100) -> list[dict[str, str]]:
    """Records whose id, name, aliases or fingerprints contain ``text`` (as `souverain kb search`)."""
    from souverain.kb.search import search

    hits = [{"id": rid, "kind": kb.kinds[rid], "name": kb.records[rid].name} for rid in search(kb, text, kind)]
    return sorted(hits, key=lambda hit: (hit["kind"], hit["id"]))[:limit]


async def get_kb_search(request: Request) -> Response:
    text = request.query_params.get("q", "")
    if len(text.strip()) < 2:
        raise Problem(400, "Query too short", "q needs at least 2 characters")
    kb = knowledge()
    return _json({"kb_version": kb.version, "q": text, "results": search_kb(kb, text, request.query_params.get("kind"))})


async def openapi(request: Request) -> Response:
    from souverain.web.openapi import document

    return _json(document())


def problem_of(exc: SouverainError) -> Problem:
    return Problem(400, "Bad request", str(exc))


ROUTES = [
    Route("/api/v1/health", health),
    Route("/api/v1/openapi.json", openapi),
    Route("/api/v1/who/{target:path}", who_target),
    Route("/api/v1/scans", post_scan, methods=["POST"]),
    Route("/api/v1/scans/{id}", get_scan),
    Route("/api/v1/assess/{offer}", get_assess),
    Route("/api/v1/compare", get_compare),
    Route("/api/v1/kb/search", get_kb_search),
]
