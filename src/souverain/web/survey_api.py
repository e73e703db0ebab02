"""The survey API under /api/v1/surveys: submit a population (multipart upload or JSON), follow
the job, pause/cancel/resume it, read the report (the CLI's `survey report --format json`) and the
rows page by page. Errors are RFC 9457 problem documents."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from souverain.collect.domain import FUNCTION_GROUPS
from souverain.errors import SouverainError, UsageError
from souverain.web import uploads
from souverain.web.api import Problem, check_rate
from souverain.web.survey_jobs import Registered, counts_of, register

FUNCTIONS = FUNCTION_GROUPS  # as `souverain survey --functions` (registry offline, registrar by RDAP)
DEFAULT_FUNCTIONS = ("mail", "dns")  # as `souverain survey`
MAX_PER_PAGE = 500


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/json", headers=headers)


def ctx_of(request: Request) -> Any:
    return request.app.state.ctx


def _problem(exc: uploads.UploadError) -> Problem:
    titles = {400: "Bad upload", 404: "Not found", 413: "Content too large", 415: "Unsupported file type"}
    return Problem(exc.status, titles.get(exc.status, "Bad upload"), str(exc))


def functions_of(values: list[str]) -> tuple[str, ...]:
    chosen = [v for value in values for v in value.replace(",", " ").split() if v]
    unknown = [f for f in chosen if f not in FUNCTIONS]
    if unknown:
        raise Problem(400, "Unknown function", f"unknown {', '.join(unknown)}; choose among {', '.join(FUNCTIONS)}")
    return tuple(dict.fromkeys(chosen)) or DEFAULT_FUNCTIONS


def run_name(request: Request, given: str | None, path: Path) -> str:
    """The given name if no run has it yet; else (or without one) made unique by the time and the
    upload's random file name."""
    from souverain.store.surveys import SurveyStore

    base = " ".join((given or "").split())[:100]
    if base and not base.isdigit():  # a number would read as a run id
        try:
            SurveyStore(ctx_of(request).jobs.store).find(base)
        except UsageError:  # no run of that name
            return base
    return f"{base or 'survey'}-{time.strftime('%Y%m%d-%H%M%S')}-{path.stem[:6]}"


async def start(request: Request, path: Path, mapping: dict[str, Any]) -> Registered:
    """Register the uploaded population as a survey run and queue its job, then delete the upload
    (the run reads its targets from the store). Problem 400 when the input has no usable domain
    column or no valid domain; the upload is deleted then too."""
    ctx = ctx_of(request)
    try:
        columns = uploads.columns(path)
    except SouverainError as exc:  # a damaged or hostile spreadsheet
        path.unlink(missing_ok=True)
        raise Problem(400, "Bad population", str(exc).replace(str(path), "input")) from None
    for key in ("domain_column", "group_column", "name_column"):
        value = mapping.get(key) or None
        if value is not None and columns and value not in columns:
            path.unlink(missing_ok=True)
            raise Problem(400, "Unknown column", f"{key}={value!r} is not a column (columns: {', '.join(columns)})")
        mapping[key] = value
    try:
        return await asyncio.to_thread(
            register, ctx.jobs, path, fmt=None, domain_column=mapping["domain_column"],
            name=run_name(request, mapping.get("name"), path), functions=mapping["functions"],
            group_column=mapping["group_column"], name_column=mapping["name_column"])
    except SouverainError as exc:  # no domain column, no valid domain, an unreadable file
        raise Problem(400, "Bad population", str(exc).replace(str(path), "input")) from None
    finally:
        path.unlink(missing_ok=True)


def _rows_jsonl(data: dict[str, Any]) -> str:
    """A JSON submission as the JSONL the survey readers take: {"domains": [...]} or {"rows": [{...}]}."""
    if isinstance(data.get("domains"), list):
        items: list[Any] = data["domains"]
        if not all(isinstance(d, str) for d in items):
            raise Problem(400, "Bad survey request", "domains is a list of strings")
        items = [{"domain": d} for d in items]
    elif isinstance(data.get("rows"), list) and all(isinstance(r, dict) for r in data["rows"]):
        items = data["rows"]
    else:
        raise Problem(400, "Bad survey request",
                      'expected {"domains": ["example.fr", ...]} or {"rows": [{"domain": ..., "region": ...}, ...]}')
    if not items:
        raise Problem(400, "Bad survey request", "no domain given")
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


async def post_survey(request: Request) -> Response:
    ctx = ctx_of(request)
    check_rate(request)
    data_dir = ctx.jobs.survey_settings.data_dir
    mapping: dict[str, Any]
    try:
        if request.headers.get("content-type", "").startswith("multipart/"):
            path, fields = await uploads.receive(request, data_dir, ctx.jobs.survey_settings.max_upload)
            if path is None:
                raise Problem(400, "Bad upload", "the multipart body has no file field")
            mapping = {key: (fields.get(key) or [""])[0] or None for key in
                       ("domain_column", "group_column", "name_column", "name")}
            mapping["functions"] = functions_of(fields.get("functions", []))
        else:
            try:
                data = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError):
                raise Problem(400, "Bad JSON", "the body is not JSON") from None
            if not isinstance(data, dict):
                raise Problem(400, "Bad survey request", "expected a JSON object")
            functions = data.get("functions") or []
            if not isinstance(functions, list) or not all(isinstance(f, str) for f in functions):
                raise Problem(400, "Bad survey request", "functions is a list of strings")
            mapping = {"functions": functions_of(functions), "name": data.get("name") if isinstance(
                data.get("name"), str) else None}
            for key in ("domain_column", "group_column", "name_column"):
                mapping[key] = data.get(key) if isinstance(data.get(key), str) else None
            path = uploads.write_text(data_dir, "jsonl", _rows_jsonl(data))
    except uploads.UploadError as exc:
        raise _problem(exc) from None
    registered = await start(request, path, mapping)
    location = f"/api/v1/surveys/{registered.job_id}"
    return _json({"id": registered.job_id, "status": "queued", "survey_id": registered.survey_id,
                  "total": registered.total, "bad_rows": registered.bad_rows, "bad_lines": registered.bad_lines},
                 status=202, headers={"location": location})


def find_survey(request: Request) -> dict[str, Any]:
    job: dict[str, Any] | None = ctx_of(request).jobs.get(request.path_params["id"])
    if job is None or job["kind"] != "survey":
        raise Problem(404, "No such survey", f"no survey job {request.path_params['id']!r}")
    return job


def survey_view(request: Request, job: dict[str, Any]) -> dict[str, Any]:
    """A survey job: status, progress (done/total, rate, ETA), counts by status and verdict, links."""
    from souverain.store.surveys import SurveyStore

    jobs = ctx_of(request).jobs
    params = job["params"]
    counts = counts_of(SurveyStore(jobs.store), params["survey_id"])
    live = jobs.live.get(job["id"])
    rate = round(live.rate(), 2) if live is not None and job["status"] == "running" else None
    left = max(job["total"] - counts["done"], 0)
    base = f"/api/v1/surveys/{job['id']}"
    view = {"id": job["id"], "status": job["status"], "name": params["name"], "survey_id": params["survey_id"],
            "functions": params["functions"], "group_column": params.get("group_column"),
            "name_column": params.get("name_column"), "created": job["created"], "started": job["started"],
            "finished": job["finished"], "total": job["total"], "done": counts["done"], "rate": rate,
            "eta_seconds": round(left / rate) if rate else None, "counts": counts,
            "links": {"self": base, "report": f"{base}/report", "rows": f"{base}/rows"}}
    if job["error"]:
        view["error"] = job["error"]
    return view


async def get_survey(request: Request) -> Response:
    return _json(survey_view(request, find_survey(request)))


async def list_surveys(request: Request) -> Response:
    jobs = ctx_of(request).jobs
    return _json({"surveys": [survey_view(request, job) for job in jobs.of_kind("survey")]})


def report_of(request: Request, job: dict[str, Any], group_by: str | None = None,
              min_tier: str = "inferred") -> dict[str, Any]:
    from souverain.kb.base import load_kb
    from souverain.store.surveys import SurveyStore
    from souverain.survey.reporting import report_data

    if min_tier not in ("verified", "registered", "inferred"):
        raise Problem(400, "Bad min_confidence", "min_confidence is verified, registered or inferred")
    try:
        return report_data(SurveyStore(ctx_of(request).jobs.store), str(job["params"]["survey_id"]), load_kb(),
                           group_by, min_tier)  # type: ignore[arg-type]
    except UsageError as exc:
        raise Problem(400, "Bad report request", str(exc).replace("--group-by", "group_by")) from None


async def get_report(request: Request) -> Response:
    job = find_survey(request)
    params = request.query_params
    group_by = params.get("group_by") or job["params"].get("group_column")
    return _json(report_of(request, job, group_by, params.get("min_confidence", "inferred")))


def page_of(request: Request, survey_id: int, page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of a run's results in input order, and the number of results."""
    import sqlalchemy as sa

    from souverain.model.survey import SurveyRow
    from souverain.store.surveys import survey_results, survey_targets

    engine = ctx_of(request).jobs.store.engine
    query = (sa.select(survey_results, survey_targets.c.line, survey_targets.c.attrs)
             .join(survey_targets, sa.and_(survey_targets.c.survey_id == survey_results.c.survey_id,
                                           survey_targets.c.domain == survey_results.c.domain))
             .where(survey_results.c.survey_id == survey_id).order_by(survey_targets.c.line)
             .limit(per_page).offset((page - 1) * per_page))
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(survey_results)
                             .where(survey_results.c.survey_id == survey_id)).scalar_one()
        rows = [SurveyRow.from_record({**row._mapping, "attrs": json.loads(row.attrs)})
                for row in conn.execute(query)]
    return rows, int(count)


def paging(request: Request, default: int = 100) -> tuple[int, int]:
    params = request.query_params
    try:
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", default))
    except ValueError:
        raise Problem(400, "Bad page", "page and per_page are whole numbers") from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise Problem(400, "Bad page", f"page >= 1 and 1 <= per_page <= {MAX_PER_PAGE}")
    return page, per_page


async def get_rows(request: Request) -> Response:
    job = find_survey(request)
    page, per_page = paging(request)
    rows, count = page_of(request, job["params"]["survey_id"], page, per_page)
    last = max(1, -(-count // per_page))
    base = f"/api/v1/surveys/{job['id']}/rows?per_page={per_page}&page="
    links = {"self": f"{base}{page}", "first": f"{base}1", "last": f"{base}{last}"}
    if page > 1:
        links["prev"] = f"{base}{min(page - 1, last)}"
    if page < last:
        links["next"] = f"{base}{page + 1}"
    return _json({"page": page, "per_page": per_page, "count": count, "pages": last, "links": links,
                  "rows": [row.as_dict() for row in rows]})


def control(request: Request, job: dict[str, Any], action: str, retry: str | None = None) -> str:
    """Pause, cancel or resume a survey job; Problem 409 when its status does not allow it."""
    jobs = ctx_of(request).jobs
    if action == "resume":
        if not jobs.resume(job["id"], retry):
            raise Problem(409, "Cannot resume", f"the survey is {job['status']}")
        return "queued"
    if job["status"] not in ("queued", "running", "paused"):
        raise Problem(409, f"Cannot {action}", f"the survey is {job['status']}")
    if action == "pause" and job["status"] == "paused":
        raise Problem(409, "Cannot pause", "the survey is paused already")
    status: str = jobs.pause(job["id"]) if action == "pause" else jobs.cancel(job["id"])
    return status


async def post_control(request: Request) -> Response:
    job = find_survey(request)
    action = request.url.path.rsplit("/", 1)[1]
    retry = None
    if action == "retry":
        action, retry = "resume", "unknown"
    control(request, job, action, retry)
    return _json(survey_view(request, find_survey(request)), status=202)


ROUTES = [
    Route("/api/v1/surveys", post_survey, methods=["POST"]),
    Route("/api/v1/surveys", list_surveys),
    Route("/api/v1/surveys/{id}", get_survey),
    Route("/api/v1/surveys/{id}/report", get_report),
    Route("/api/v1/surveys/{id}/rows", get_rows),
    *(Route(f"/api/v1/surveys/{{id}}/{action}", post_control, methods=["POST"])
      for action in ("pause", "cancel", "resume", "retry")),
]


def _path_id() -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_paths(ok: Any, problems: Any) -> dict[str, Any]:
    """The survey paths of the OpenAPI document (``ok`` and ``problems`` build its responses)."""
    job = {"$ref": "#/components/schemas/SurveyJob"}
    columns = {key: {"type": "string"} for key in ("domain_column", "group_column", "name_column", "name")}
    functions = {"type": "array", "items": {"enum": list(FUNCTIONS)}}
    return {
        "/api/v1/surveys": {
            "post": {
                "summary": "Queue a survey of a population: a file (CSV, TSV, JSONL, a list; XLSX/ODS when "
                           "installed) or JSON domains/rows",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "domains": {"type": "array", "items": {"type": "string"}},
                        "rows": {"type": "array", "items": {"type": "object"}},
                        "functions": functions, **columns}}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"}, "functions": functions, **columns}}}}},
                "responses": {"202": ok({"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"const": "queued"}, "survey_id": {"type": "integer"},
                    "total": {"type": "integer"}, "bad_rows": {"type": "integer"}}}, "Queued"),
                    **problems(400, 401, 413, 415, 429)}},
            "get": {"summary": "Survey jobs, newest first",
                    "responses": {"200": ok({"type": "object", "properties": {
                        "surveys": {"type": "array", "items": job}}}), **problems(401)}}},
        "/api/v1/surveys/{id}": {"get": {
            "summary": "A survey job: status, done/total, rate, ETA, counts by status and verdict",
            "parameters": [_path_id()], "responses": {"200": ok(job), **problems(401, 404)}}},
        "/api/v1/surveys/{id}/report": {"get": {
            "summary": "The survey report (as `souverain survey report --format json`)",
            "parameters": [_path_id(),
                           {"name": "group_by", "in": "query", "schema": {"type": "string"},
                            "description": "Group attribute (an input column); default: the mapped group column"},
                           {"name": "min_confidence", "in": "query",
                            "schema": {"enum": ["verified", "registered", "inferred"]}}],
            "responses": {"200": ok({"type": "object"}), **problems(400, 401, 404)}}},
        "/api/v1/surveys/{id}/rows": {"get": {
            "summary": "The results, in input order, a page at a time (rows as `souverain schema survey-row`)",
            "parameters": [_path_id(), {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "per_page", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}}],
            "responses": {"200": ok({"type": "object", "properties": {
                "page": {"type": "integer"}, "per_page": {"type": "integer"}, "count": {"type": "integer"},
                "pages": {"type": "integer"}, "links": {"type": "object"},
                "rows": {"type": "array", "items": {"type": "object"}}}}), **problems(400, 401, 404)}}},
        **{f"/api/v1/surveys/{{id}}/{action}": {"post": {
            "summary": summary, "parameters": [_path_id()],
            "responses": {"202": ok(job, "Accepted"), **problems(401, 404, 409)}}}
           for action, summary in (
               ("pause", "Pause a survey: finished results are kept, resume continues"),
               ("cancel", "Cancel a survey for good (its results so far stay readable)"),
               ("resume", "Resume a paused, cancelled, failed or done survey (scans only what has no result)"),
               ("retry", "Scan again the results with status unknown, then finish the run"))},
    }


SURVEY_JOB_SCHEMA = {
    "type": "object", "required": ["id", "status"],
    "properties": {"id": {"type": "string"},
                   "status": {"enum": ["queued", "running", "paused", "cancelled", "done", "failed"]},
                   "name": {"type": "string"}, "survey_id": {"type": "integer"}, "total": {"type": "integer"},
                   "done": {"type": "integer"}, "rate": {"type": ["number", "null"]},
                   "eta_seconds": {"type": ["integer", "null"]}, "counts": {"type": "object"},
                   "links": {"type": "object"}, "error": {"type": "string"}},
}
