"""The ASGI application: ``create_app(settings)`` for `souverain serve` and the tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from souverain.errors import SouverainError
from souverain.store.database import Store
from souverain.web import answers, api, pages, publish, survey_api, surveys
from souverain.web.jobs import Jobs, ScanSettings, SurveySettings
from souverain.web.security import HEADERS, RateLimit, Sessions, same

STATIC = Path(__file__).parent / "static"
MAX_BODY = 256 * 1024  # a scan request, a login form: never more


@dataclasses.dataclass
class Settings:
    db_url: str | None = None
    scan: ScanSettings = dataclasses.field(default_factory=ScanSettings)
    survey: SurveySettings = dataclasses.field(default_factory=SurveySettings)
    lang: str = "en"
    token: str | None = None  # required off loopback (or users); None and no users: no authentication
    users: dict[str, str] | None = None  # name -> scrypt hash (web/users.py): sign-in for the pages
    secure_cookies: bool = False  # Secure session cookies even over http (behind a TLS proxy)
    workers: int = 2
    max_body: int = MAX_BODY
    rate: int = 30  # scan submissions and sign-in attempts per client and minute


@dataclasses.dataclass
class Context:
    settings: Settings
    store: Store
    jobs: Jobs
    sessions: Sessions
    limits: RateLimit


def create_app(settings: Settings, jobs: Jobs | None = None) -> Starlette:
    store = jobs.store if jobs else Store.open(settings.db_url)
    jobs = jobs or Jobs(store, settings.scan, settings.workers, surveys=settings.survey)
    ctx = Context(settings, store, jobs, Sessions(), RateLimit(settings.rate))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await jobs.start()
        try:
            yield
        finally:
            await jobs.stop()

    app = Starlette(
        routes=[*api.ROUTES, *survey_api.ROUTES, *answers.ROUTES, *pages.ROUTES, *publish.ROUTES, *surveys.ROUTES,
                Mount("/static", StaticFiles(directory=STATIC), name="static")],
        exception_handlers={api.Problem: _problem, SouverainError: _souverain_error, 404: _not_found,
                            405: _not_allowed},
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders),
                    Middleware(BodyLimit, limit=settings.max_body, uploads=jobs.survey_settings.max_upload),
                    Middleware(Authentication, ctx=ctx)],
    )
    app.state.ctx = ctx
    return app


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, api.Problem)
    if request.url.path.startswith("/api/"):
        return exc.response(request.url.path)
    return pages.error_page(request, exc.status, exc.detail or exc.title)


async def _souverain_error(request: Request, exc: Exception) -> Response:
    return await _problem(request, api.Problem(400, "Bad request", str(exc)))


async def _not_found(request: Request, exc: Exception) -> Response:
    return await _problem(request, api.Problem(404, "Not found", f"nothing at {request.url.path}"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return await _problem(request, api.Problem(405, "Method not allowed", f"{request.method} {request.url.path}"))


def _raw_problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=api.PROBLEM,
                        headers={"www-authenticate": "Bearer"} if status == 401 else None)


PUBLIC = ("/static/", "/login", "/api/v1/health", "/p/")  # /p/TOKEN: published reports, read-only


class Authentication:
    """With a token or users: the API asks for ``Authorization: Bearer TOKEN``, pages for a session
    cookie obtained on /login with the token or a user's name and password."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app, self.ctx = app, ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token, users = self.ctx.settings.token, self.ctx.settings.users
        if scope["type"] != "http" or (token is None and not users) or scope["path"].startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if scope["path"].startswith("/api/"):
            given = request.headers.get("authorization", "")
            if token is None or not (given.startswith("Bearer ") and same(given[len("Bearer "):].strip(), token)):
                detail = "send Authorization: Bearer TOKEN" if token else \
                    "the API needs a token: start the server with --token-file (users sign in to the pages)"
                await _raw_problem(401, "Unauthorized", detail)(scope, receive, send)
                return
        elif not self.ctx.sessions.valid(request.cookies.get(pages.SESSION_COOKIE)):
            await RedirectResponse("/login", status_code=303)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a body larger than ``limit`` bytes (``uploads`` bytes for a survey upload), by its
    Content-Length or as it arrives."""

    UPLOAD_PATHS = ("/surveys/upload", "/api/v1/surveys")

    def __init__(self, app: ASGIApp, limit: int, uploads: int | None = None) -> None:
        self.app, self.default, self.uploads = app, limit, uploads or limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads if scope["path"] in self.UPLOAD_PATHS else self.default
        declared = dict(scope["headers"]).get(b"content-length")
        too_large = _raw_problem(413, "Content too large", f"the body may hold at most {limit} bytes")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await too_large(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # a chunked body: raised where the route reads it
                    raise api.Problem(413, "Content too large", f"the body may hold at most {limit} bytes")
            return message

        await self.app(scope, limited, send)


class SecurityHeaders:
    """CSP (no inline script), nosniff, no referrer, same-origin framing on every response; a
    response that sets its own CSP (the sandboxed reports) keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
