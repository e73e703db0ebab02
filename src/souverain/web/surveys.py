"""Survey pages: upload a population, map its columns, follow the run (server-sent events) with
pause/cancel/resume/retry, read the report, compare with a previous run, export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from souverain.errors import SouverainError
from souverain.report.formulas import safe_cell
from souverain.report.i18n import Translator
from souverain.web import api, survey_api, uploads
from souverain.web.pages import checked_form, language, render
from souverain.web.security import CSRF_COOKIE, REPORT_CSP, same

VERDICTS = ("exposed", "partly-exposed", "undetermined", "not-exposed", "unknown")
if TYPE_CHECKING:
    from souverain.model.survey import SurveyRow

EXPORTS = {"csv": "text/csv", "jsonl": "application/x-ndjson", "json": "application/json", "html": "text/html"}
ACTIONS = ("pause", "cancel", "resume", "retry")


def data_dir(request: Request) -> Any:
    return request.app.state.ctx.jobs.survey_settings.data_dir


async def survey_list(request: Request, error: str | None = None, status: int = 200) -> Response:
    jobs = request.app.state.ctx.jobs.of_kind("survey")
    return render(request, "survey_list.html.j2", status=status, jobs=jobs, error=error,
                  accept=",".join("." + ext for ext in uploads.extensions()),
                  max_mb=request.app.state.ctx.jobs.survey_settings.max_upload // (1024 * 1024))


async def upload(request: Request) -> Response:
    """The file goes to the data folder; the CSRF token (a form field) is checked once the body is read."""
    t = Translator(language(request), api.report_kb()[0])
    api.check_rate(request)  # before a byte is written: uploads are limited like submissions
    settings = request.app.state.ctx.jobs.survey_settings
    try:
        path, fields = await uploads.receive(request, data_dir(request), settings.max_upload)
    except uploads.UploadError as exc:
        return await survey_list(request, str(exc), exc.status)
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    if not cookie or not same((fields.get("csrf") or [""])[0], cookie):
        if path is not None:
            path.unlink(missing_ok=True)
        raise api.Problem(403, "Forbidden", t("web.csrf_failed"))
    if path is None or not path.stat().st_size:
        if path is not None:
            path.unlink(missing_ok=True)
        return await survey_list(request, t("web.survey.no_file"), 400)
    return RedirectResponse(f"/surveys/map/{path.stem}", status_code=303)


def _mapping_page(request: Request, upload_id: str, error: str | None = None, status: int = 200,
                  chosen: dict[str, Any] | None = None) -> Response:
    try:
        path = uploads.path_of(data_dir(request), upload_id)
    except uploads.UploadError as exc:
        raise api.Problem(404, "Not found", str(exc)) from None
    try:
        columns = uploads.columns(path)
    except SouverainError as exc:
        path.unlink(missing_ok=True)
        raise api.Problem(400, "Bad population", str(exc).replace(str(path), "input")) from None
    chosen = chosen or {"domain_column": uploads.guess_domain_column(columns), "group_column": None,
                        "name_column": None, "functions": survey_api.DEFAULT_FUNCTIONS, "name": ""}
    return render(request, "survey_map.html.j2", status=status, upload_id=upload_id, columns=columns,
                  functions=survey_api.FUNCTIONS, chosen=chosen, error=error)


async def mapping(request: Request) -> Response:
    return _mapping_page(request, request.path_params["upload"])


async def mapping_post(request: Request) -> Response:
    upload_id = request.path_params["upload"]
    form = await checked_form(request)
    chosen: dict[str, Any] = {key: str(form.get(key) or "") or None
                              for key in ("domain_column", "group_column", "name_column", "name")}
    try:
        chosen["functions"] = survey_api.functions_of([str(f) for f in form.getlist("functions")])
        path = uploads.path_of(data_dir(request), upload_id)
        api.check_rate(request)
        registered = await survey_api.start(request, path, dict(chosen))
    except uploads.UploadError as exc:
        raise api.Problem(404, "Not found", str(exc)) from None
    except api.Problem as problem:
        if problem.status != 400 or not uploads.UPLOAD_ID.match(upload_id) or \
                not list(uploads.folder(data_dir(request)).glob(f"{upload_id}.*")):
            raise
        chosen.setdefault("functions", survey_api.DEFAULT_FUNCTIONS)
        return _mapping_page(request, upload_id, problem.detail or problem.title, 400, chosen)
    return RedirectResponse(f"/surveys/{registered.job_id}", status_code=303)


def _others(request: Request, job: dict[str, Any]) -> list[dict[str, Any]]:
    return [other for other in request.app.state.ctx.jobs.of_kind("survey") if other["id"] != job["id"]]


async def survey_page(request: Request) -> Response:
    job = survey_api.find_survey(request)
    view = survey_api.survey_view(request, job)
    return render(request, "survey_run.html.j2", job=job, view=view, others=_others(request, job),
                  exports=list(EXPORTS), verdicts=VERDICTS)


async def survey_events(request: Request) -> Response:
    """Server-sent events: the job's view every half second while it is queued or running."""
    job_id = survey_api.find_survey(request)["id"]
    jobs = request.app.state.ctx.jobs

    async def stream() -> Any:
        while True:
            job = jobs.get(job_id)
            if job is None:
                return
            yield f"data: {json.dumps(survey_api.survey_view(request, job))}\n\n"
            if job["status"] not in ("queued", "running") or await request.is_disconnected():
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-store"})


async def survey_action(request: Request) -> Response:
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise api.Problem(404, "Not found", f"nothing at {request.url.path}")
    await checked_form(request)
    job = survey_api.find_survey(request)
    if action == "retry":
        survey_api.control(request, job, "resume", "unknown")
    else:
        survey_api.control(request, job, action)
    return RedirectResponse(f"/surveys/{job['id']}", status_code=303)


def report_html(request: Request, job: dict[str, Any]) -> str:
    from souverain.report.survey import survey_html

    data = survey_api.report_of(request, job, job["params"].get("group_column"))
    return survey_html(data, language(request), names=api.report_kb()[0])


async def survey_report(request: Request) -> Response:
    return HTMLResponse(report_html(request, survey_api.find_survey(request)),
                        headers={"content-security-policy": REPORT_CSP})


def _csv(records: list[dict[str, Any]], fields: list[str] | None = None) -> str:
    buffer = io.StringIO()
    names = fields or list(dict.fromkeys(key for record in records for key in record))
    writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: safe_cell(value) for key, value in record.items()})
    return buffer.getvalue()


def _jsonl(rows: Iterator[SurveyRow]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row.as_dict(), ensure_ascii=False) + "\n"


def attribute_columns(engine: Any, survey_id: int) -> list[str]:
    """The ``attr_<name>`` columns of a run: every input attribute any target has (a row's empty
    cells are not stored, so the first row alone would miss some)."""
    import sqlalchemy as sa

    from souverain.model.survey import ATTRIBUTE_PREFIX
    from souverain.store.surveys import survey_targets

    names: dict[str, None] = {}
    with engine.connect() as conn:
        for (attrs,) in conn.execute(sa.select(survey_targets.c.attrs).where(survey_targets.c.survey_id == survey_id)
                                     .order_by(survey_targets.c.line)):
            names.update(dict.fromkeys(json.loads(attrs)))
    return [f"{ATTRIBUTE_PREFIX}{name}" for name in names]


def _csv_lines(rows: Iterator[SurveyRow], attributes: list[str]) -> Iterator[str]:
    """The CSV of the rows, a row at a time."""
    from souverain.model.survey import COLUMNS

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS, *attributes], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: safe_cell(value) for key, value in row.flat().items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


async def survey_export(request: Request) -> Response:
    from souverain.store.surveys import SurveyStore

    fmt = request.path_params["fmt"]
    if fmt not in EXPORTS:
        raise api.Problem(404, "Unknown format", f"choose among {', '.join(EXPORTS)}")
    job = survey_api.find_survey(request)
    name = f"souverain-survey-{job['id']}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "json":
        text = json.dumps(survey_api.report_of(request, job, job["params"].get("group_column")), ensure_ascii=False,
                          indent=2, default=str)
    elif fmt == "html":
        text = report_html(request, job)
        headers["content-security-policy"] = REPORT_CSP
    else:  # streamed: Starlette iterates a plain generator in its thread pool (bounded memory)
        store, survey_id = request.app.state.ctx.jobs.store, job["params"]["survey_id"]
        rows = SurveyStore(store).results(survey_id)
        if fmt == "jsonl":
            lines = _jsonl(rows)
        else:
            lines = _csv_lines(rows, await asyncio.to_thread(attribute_columns, store.engine, survey_id))
        return StreamingResponse(lines, media_type=EXPORTS[fmt], headers=headers)
    return Response(text, media_type=EXPORTS[fmt], headers=headers)


async def survey_diff(request: Request) -> Response:
    """Who moved between a previous run (``against``) and this one, as a table or CSV."""
    from souverain.store.surveys import SurveyStore
    from souverain.survey.reporting import diff_runs

    job = survey_api.find_survey(request)
    against = request.query_params.get("against", "")
    previous = request.app.state.ctx.jobs.get(against)
    if previous is None or previous["kind"] != "survey" or previous["id"] == job["id"]:
        raise api.Problem(404, "No such survey", f"no other survey job {against!r} to compare with")
    surveys = SurveyStore(request.app.state.ctx.jobs.store)
    a, b, moves = await asyncio.to_thread(diff_runs, surveys, str(previous["params"]["survey_id"]),
                                          str(job["params"]["survey_id"]))
    if request.query_params.get("format") == "csv":
        text = _csv(moves, ["domain", "function", "before", "after", "foreign_before", "foreign_after"])
        return Response(text, media_type="text/csv", headers={
            "content-disposition": f'attachment; filename="souverain-survey-diff-{previous["id"]}-{job["id"]}.csv"'})
    return render(request, "survey_diff.html.j2", job=job, previous=previous, run_a=a, run_b=b, moves=moves)


ROUTES = [
    Route("/surveys", survey_list),
    Route("/surveys/upload", upload, methods=["POST"]),
    Route("/surveys/map/{upload}", mapping),
    Route("/surveys/map/{upload}", mapping_post, methods=["POST"]),
    Route("/surveys/{id}", survey_page),
    Route("/surveys/{id}/events", survey_events),
    Route("/surveys/{id}/report.html", survey_report),
    Route("/surveys/{id}/export/{fmt}", survey_export),
    Route("/surveys/{id}/diff", survey_diff),
    Route("/surveys/{id}/{action}", survey_action, methods=["POST"]),
]
