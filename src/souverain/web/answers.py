"""The answers form: assess an offer that is not in the KB from the CSF criteria typed into a page
(what `souverain assess --answers FILE` reads from a file), and ``POST /api/v1/assess`` with the
same document as JSON. A submitted form is kept in memory under an unguessable id, so that its
assessment page and report can be shown (and its answers file downloaded) like a KB offer's."""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from souverain.web import api
from souverain.web.security import REPORT_CSP

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Assessment, Framework

KINDS = ("documented", "self-declared", "assessor")
CATEGORIES = ("iaas", "paas", "saas", "private-cloud", "colocation", "email", "collaboration")
KEPT = 200  # submitted forms kept in memory (the oldest is dropped past that)
MAX_TEXT = 500  # characters of one text field (a name, a rationale)
MAX_URL = 2000


class Submitted:
    """The last KEPT submitted offers, by id."""

    def __init__(self) -> None:
        self.items: collections.OrderedDict[str, tuple[dict[str, Any], Assessment]] = collections.OrderedDict()

    def add(self, document: dict[str, Any], record: Assessment) -> str:
        key = secrets.token_urlsafe(12)
        self.items[key] = (document, record)
        while len(self.items) > KEPT:
            self.items.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[dict[str, Any], Assessment]:
        found = self.items.get(key)
        if found is None:
            raise api.Problem(404, "No such answers", f"no submitted answers {key!r} (they are kept in memory "
                              "until the server restarts: submit the form again)")
        return found


def submitted(request: Request) -> Submitted:
    """The application's submitted answers (made on first use)."""
    state = request.app.state
    if not hasattr(state, "answers"):
        state.answers = Submitted()
    found: Submitted = state.answers
    return found


def _json(data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), media_type="application/json")


def framework(kb: KnowledgeBase) -> Framework:
    found = kb.frameworks.get("eu-csf")
    if found is None:
        raise api.Problem(500, "No framework", "the knowledge base has no eu-csf framework")
    return found


def _text(form: Any, name: str, limit: int = MAX_TEXT) -> str:
    value = str(form.get(name) or "").strip()
    if len(value) > limit:
        raise api.Problem(400, "Field too long", f"{name}: at most {limit} characters")
    return value


def document_of(form: Any, kb: KnowledgeBase) -> dict[str, Any]:
    """The answers document (the answers file's fields) a submitted form describes. Criteria left
    unknown are left out (no option: nothing to count); the source given applies to every answer."""
    today = dt.date.today().isoformat()
    retrieved = _text(form, "retrieved", 10) or today
    source = {"url": _text(form, "source_url", MAX_URL), "title": _text(form, "source_title"), "retrieved": retrieved}
    name = _text(form, "name")
    document: dict[str, Any] = {
        "id": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "offer",
        "name": name, "framework": "eu-csf", "category": _text(form, "category", 20),
        "sources": [source], "as_of": retrieved,
    }
    if _text(form, "scope"):
        document["scope"] = _text(form, "scope")
    provider = _text(form, "provider", 100)
    if provider:
        document["provider"] = provider
    else:
        inline: dict[str, Any] = {"name": _text(form, "provider_name"), "country": _text(form, "provider_country", 2).upper()}
        owner = _text(form, "owner", 100)
        if owner:
            edge: dict[str, Any] = {"owner": owner, "since": _text(form, "owner_since", 10) or None}
            if _text(form, "owner_pct", 6):
                edge["capital_pct"] = _text(form, "owner_pct", 6)
            inline["owners"] = [edge]
        document["provider_entity"] = inline
    answers: dict[str, Any] = {}
    for objective in framework(kb).objectives:
        for criterion in objective.criteria:
            option = _text(form, f"option.{criterion.id}", 100)
            if not option:
                continue
            kind = _text(form, f"kind.{criterion.id}", 20) or "self-declared"
            note = _text(form, f"note.{criterion.id}") or None
            answers[criterion.id] = {"option": option, "kind": kind, "sources": [dict(source)],
                                     "rationale" if kind == "assessor" else "evidence": note}
    document["answers"] = answers
    return document


def check(document: dict[str, Any], kb: KnowledgeBase) -> tuple[Assessment | None, list[str]]:
    """The record, or the problems (``field: problem``) that keep the document from being one."""
    from souverain.assess.answers import check_references
    from souverain.kb.messages import plain
    from souverain.kb.problems import format_field
    from souverain.kb.schema import Assessment

    try:
        record = Assessment.model_validate(document)
    except ValidationError as exc:
        return None, [f"{format_field(tuple(e['loc']))}: {plain(e)}" for e in exc.errors()]
    problems = check_references(record, kb, "form", {})
    return (None, [f"{p.field}: {p.message}" for p in problems]) if problems else (record, [])


def _form(request: Request, values: dict[str, Any], errors: list[str], status: int = 200) -> Response:
    from souverain.web.pages import render

    kb = api.knowledge()
    entities = sorted((e.id, e.name) for e in kb.entities.values() if not e.deprecated)
    return render(request, "answers.html.j2", status=status, framework=framework(kb), kinds=KINDS,
                  categories=CATEGORIES, entities=entities, values=values, errors=errors,
                  today=dt.date.today().isoformat())


async def answers_form(request: Request) -> Response:
    return _form(request, {}, [])


async def answers_post(request: Request) -> Response:
    from souverain.web.pages import checked_form

    form = await checked_form(request)
    values = {key: str(value) for key, value in form.multi_items() if key != "csrf"}
    kb = api.knowledge()
    try:
        document = document_of(form, kb)
    except api.Problem as problem:
        return _form(request, values, [problem.detail or problem.title], status=400)
    record, errors = check(document, kb)
    if record is None:
        return _form(request, values, errors, status=400)
    return RedirectResponse(f"/assess/answers/{submitted(request).add(document, record)}", status_code=303)


def _assess(record: Assessment, request: Request) -> Any:
    from souverain.assess.offer import assess_offer

    params = request.query_params
    profile = params.get("profile", "csf-2026")
    if profile not in api.PROFILES:
        raise api.Problem(400, "Unknown profile", f"profile={profile!r}: choose among {', '.join(api.PROFILES)}")
    return assess_offer(api.knowledge(), record, api.parse_at(params.get("at")), profile, None)


async def answers_page(request: Request) -> Response:
    from souverain.report.assessment import headline
    from souverain.report.i18n import Translator
    from souverain.web.pages import language, render

    key = request.path_params["key"]
    _, record = submitted(request).get(key)
    result = _assess(record, request)
    lines = headline(result, Translator(language(request), api.report_kb()[0]))
    return render(request, "answers_result.html.j2", key=key, record=record, headline=lines[:1])  # the rest: report


async def answers_report(request: Request) -> Response:
    from souverain.report.assessment import assessment_html
    from souverain.web.pages import language

    _, record = submitted(request).get(request.path_params["key"])
    return HTMLResponse(assessment_html([_assess(record, request)], language(request), api.report_kb()[0]),
                        headers={"content-security-policy": REPORT_CSP})


async def answers_download(request: Request) -> Response:
    """The answers file of a submitted form (YAML, for `souverain assess --answers`) or its assessment (JSON)."""
    document, record = submitted(request).get(request.path_params["key"])
    if request.path_params["fmt"] not in ("yaml", "json"):
        raise api.Problem(404, "Unknown format", "choose yaml (the answers file) or json (the assessment)")
    if request.path_params["fmt"] == "yaml":
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml",
                        headers={"content-disposition": f'attachment; filename="{record.id}.answers.yaml"'})
    return _json(_assess(record, request).as_dict())


async def post_assess(request: Request) -> Response:
    """``POST /api/v1/assess``: an answers document (the answers file as JSON) -> its assessment."""
    try:
        document = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise api.Problem(400, "Bad JSON", "the body is not JSON") from None
    if not isinstance(document, dict):
        raise api.Problem(400, "Bad answers", "an answers document is a JSON object (see `souverain assess --template`)")
    record, errors = check(document, api.knowledge())
    if record is None:
        raise api.Problem(422, "Invalid answers", "; ".join(errors[:20]), errors=errors[:100])
    return _json(_assess(record, request).as_dict())


ROUTES = [
    Route("/assess/answers", answers_form),
    Route("/assess/answers", answers_post, methods=["POST"]),
    Route("/assess/answers/{key}", answers_page),
    Route("/assess/answers/{key}/report.html", answers_report),
    Route("/assess/answers/{key}/download/{fmt:str}", answers_download),
    Route("/api/v1/assess", post_assess, methods=["POST"]),
]
