"""One page in headless Chromium: navigate, record what it requests, settle, stop.

CDP network events say what was requested (URL, resource type, initiator, status), from the
page, its frames (out-of-process ones too, via auto-attach) and its workers; all of the
browser's traffic goes through ``collect.proxy.RecordingProxy``, which resolves every host with
souverain's resolver and records every connection, and admits only hosts the page asked for.
A run has a total deadline, a settle time after the load event, and caps on requests and
connections. ``browse`` never raises for browser, network or page problems: they come back in
``BrowserResult.error``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from souverain.collect.chromium import (
    CHROMIUM_FLAGS,
    DEFAULT_CHROMIUM,
    START_TIMEOUT,
    BrowserError,
    Chromium,
    find_chromium,
    spki_hashes,
)
from souverain.collect.proxy import Connection, RecordingProxy
from souverain.model.evidence import RequestOutcome

if TYPE_CHECKING:
    from souverain.collect.web import ConnectMap

MAX_BROWSERS = 2  # Chromium runs at once in one scan: each takes a few hundred MB and a core
MAX_URL = 2048  # characters of a URL kept in evidence
_ADMIT_WAIT = 1.0  # seconds the proxy waits for the page's request to a host it is asked for
_MAX_HOSTS = 2000

# CDP targets and events that belong to the page, and what counts as network activity.
_WORKERS = ("service_worker", "shared_worker")
_BROWSER_SCHEMES = ("chrome:", "chrome-untrusted:", "devtools:")
_ACTIVITY = frozenset({
    "Network.requestWillBeSent", "Network.responseReceived", "Network.dataReceived",
    "Network.loadingFinished", "Network.loadingFailed", "Network.webSocketCreated",
})

# CDP resource types -> our kinds (Document in a frame is an iframe; anything else: "other").
_KINDS = {
    "Document": "document", "Stylesheet": "stylesheet", "Image": "image", "Media": "media",
    "Font": "font", "Script": "script", "TextTrack": "media", "XHR": "xhr", "Fetch": "fetch",
    "Prefetch": "prefetch", "EventSource": "eventsource", "WebSocket": "websocket",
    "Manifest": "manifest", "Ping": "ping", "CSPViolationReport": "report",
    "Preflight": "preflight",
}


# What became of a request (``BrowserResult.request_outcome``), as evidence says it.
OUTCOMES = {
    "loaded": "loaded",  # a server answered (its HTTP status is the detail)
    "refused": "refused by souverain's proxy",  # the page asked, the proxy would not connect
    # mixed content, CSP, CORP (no request sent); CORS (the answer withheld from the page)
    "blocked": "blocked by the browser",
    "failed": "failed",  # no address, connection or TLS error
    "canceled": "canceled",
    "no-response": "no response before the run ended",
}
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


@dataclasses.dataclass(frozen=True)
class BrowserOptions:
    chromium: str = DEFAULT_CHROMIUM
    timeout: float = 15.0  # total seconds per page, start-up included
    settle: float = 2.0  # after the load event, stop once the network was quiet this long
    max_requests: int = 500


@dataclasses.dataclass
class BrowserRequest:
    """One request the page (or a frame or worker of it) made, as the browser reported it."""

    url: str
    host: str
    kind: str  # script, stylesheet, font, image, media, document, iframe, xhr, fetch, websocket...
    initiator: str | None = None  # URL of the document, style sheet or script that caused it
    initiator_type: str | None = None  # parser, script, preload, other...
    status: int | None = None
    error: str | None = None

    @property
    def port(self) -> int | None:
        try:
            parts = urlsplit(self.url)
            return parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return None

    def describe(self, outcome: tuple[str, str | None]) -> str:
        """What happened to it, then what asked for it:
        ``loaded (HTTP 200) · initiator script URL``."""
        what, detail = outcome
        parts = [OUTCOMES[what] + (f" ({detail})" if detail else "")]
        if self.initiator or self.initiator_type:
            parts.append(f"initiator {self.initiator_type or '?'} {self.initiator or ''}".rstrip())
        return " · ".join(parts)


@dataclasses.dataclass
class BrowserResult:
    """What running ``url`` in Chromium showed. ``outcome``: ok (the load event fired),
    timeout (it did not within the deadline; what was seen is kept) or error."""

    url: str
    outcome: str = "error"
    final_url: str | None = None
    status: int | None = None
    error: str | None = None
    browser: str | None = None  # product and version Chromium reported
    elapsed_ms: float = 0.0
    requests: list[BrowserRequest] = dataclasses.field(default_factory=list)
    connections: list[Connection] = dataclasses.field(default_factory=list)
    truncated: bool = False  # max_requests, max connections or the byte budget was reached
    dialogs: int = 0  # alert(), confirm(), prompt(), onbeforeunload: dismissed
    page_evidence: str | None = None
    host_evidence: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # host -> ids

    def request_outcome(self, request: BrowserRequest) -> tuple[RequestOutcome, str | None]:
        """(outcome, detail), outcome one of ``OUTCOMES``. The proxy's record wins over what the
        browser says: a plain-HTTP request it refused reaches the page as an HTTP 403 "response",
        and a refused or failed tunnel only as net::ERR_TUNNEL_CONNECTION_FAILED."""
        if request.error and request.error.startswith("blocked:"):
            return "blocked", request.error.partition(":")[2].strip() or None
        through = [c for c in self.connections if c.host == request.host and c.port == request.port]
        if through and not any(c.status in ("ok", "open") for c in through):
            refused = next((c for c in through if c.status == "refused"), None)
            return ("refused", refused.error) if refused else ("failed", through[-1].error)
        if request.error == "canceled":
            return "canceled", None
        if request.error:
            return "failed", request.error
        if request.status:
            return "loaded", f"HTTP {request.status}"
        return "no-response", None

    def outcomes(self) -> dict[str, tuple[RequestOutcome, str | None]]:
        """URL -> (outcome, detail) for every URL ``observed()`` lists; "loaded" when any request
        for the URL (or, for a connection, any bytes from the server) came back."""
        found: dict[str, tuple[RequestOutcome, str | None]] = {}
        for request in self.requests:
            outcome = self.request_outcome(request)
            if request.url not in found or outcome[0] == "loaded":
                found[request.url] = outcome
        for host, url, kind in self.observed():
            if kind == "connection":
                made = [c for c in self.connections if c.host == host and c.status != "refused"]
                loaded = any(c.status == "ok" and c.received for c in made)
                error = next((c.error for c in made if c.error), None)
                found[url] = ("loaded", None) if loaded else ("failed", error)
        return found

    def observed(self) -> list[tuple[str, str, str]]:
        """(host, url, kind) of every request recorded, then (host, origin, "connection") for
        hosts the proxy connected to whose requests were not recorded (past ``max_requests``).
        Refused connections are not observations of the page."""
        found = [(r.host, r.url, r.kind) for r in self.requests]
        requested = {r.host for r in self.requests}
        for item in self.connections:
            if item.host not in requested and item.status != "refused":
                requested.add(item.host)
                scheme = "http" if item.method != "CONNECT" else "https"
                found.append((item.host, f"{scheme}://{item.host}:{item.port}/", "connection"))
        return found


# -- one page -----------------------------------------------------------------------------------


class _PageRun:
    """The state of one ``browse`` call: sessions, requests, load, quiet time."""

    def __init__(self, url: str, options: BrowserOptions) -> None:
        self.result = BrowserResult(url)
        self.options = options
        self.chromium = Chromium(self.on_event)
        self.attached: dict[str, asyncio.Future] = {}  # target id -> its session, once set up
        self.ours: set[str | None] = set()  # sessions of the page, its frames, workers, pop-ups
        self.our_targets: set[str | None] = set()
        self.main_session: str | None = None
        self.main_frame: str | None = None
        self.requests: dict[tuple[str | None, str], BrowserRequest] = {}
        self.hosts: dict[str, asyncio.Event] = {}  # set once the page requested the host
        self.setups: set[asyncio.Task] = set()
        self.loaded = False
        self.navigating = False
        self.last_activity = time.monotonic()

    # -- events ---------------------------------------------------------------------------
    def on_event(self, method: str, params: dict, session: str | None) -> None:
        if method == "Target.attachedToTarget":
            info = params.get("targetInfo", {})
            if session in self.ours or info.get("openerId") in self.our_targets \
                    or info.get("type") in _WORKERS:  # frames, workers and pop-ups of the page
                self._adopt(params["sessionId"], info)
            task = asyncio.ensure_future(self._setup(params["sessionId"], info))
            self.setups.add(task)
            task.add_done_callback(self.setups.discard)
            return
        if session not in self.ours:  # the browser's own pages (its start tab, its UI)
            return
        if method.startswith("Network."):
            if method in _ACTIVITY:
                self.last_activity = time.monotonic()
            self._network(method, params, session)
        elif method == "Page.loadEventFired" and self._is_main(session):
            self.loaded = True
            self.last_activity = time.monotonic()
        elif method == "Page.frameNavigated" and self._is_main(session):
            frame = params.get("frame", {})
            if not frame.get("parentId"):
                self.result.final_url = frame.get("url", "")[:MAX_URL]
        elif method == "Page.javascriptDialogOpening":  # alert() and the like would stop the page
            self.result.dialogs += 1
            self.chromium.fire("Page.handleJavaScriptDialog", {"accept": False}, session)
        elif method in ("Inspector.targetCrashed", "Target.targetCrashed") \
                and self._is_main(session):
            self.result.error = self.result.error or "the page crashed"

    def _is_main(self, session: str | None) -> bool:
        return session is not None and session == self.main_session

    def _adopt(self, session: str, info: dict) -> None:
        """The events of this target are the page's."""
        if not info.get("url", "").startswith(_BROWSER_SCHEMES):
            self.ours.add(session)
            self.our_targets.add(info.get("targetId"))

    async def _setup(self, session: str, info: dict) -> None:
        """Watch the network of every target (page, frame, worker) before letting it run."""
        kind = info.get("type", "")
        if info.get("url", "").startswith(_BROWSER_SCHEMES):  # the browser's own UI: just let it go
            await asyncio.gather(self.chromium.send("Runtime.runIfWaitingForDebugger", {}, session),
                                 return_exceptions=True)
            return
        calls = [self.chromium.send("Network.enable", {"maxPostDataSize": 0}, session)]
        if kind in ("page", "iframe"):
            calls.append(self.chromium.send("Page.enable", {}, session))
        calls.append(self.chromium.send("Target.setAutoAttach", {
            "autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}, session))
        calls.append(self.chromium.send("Runtime.runIfWaitingForDebugger", {}, session))
        results = await asyncio.gather(*calls, return_exceptions=True)
        ready = self._attached(info.get("targetId", ""))
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if not ready.done():
            ready.set_result((session, failed))

    def _attached(self, target: str) -> asyncio.Future:
        if target not in self.attached:
            self.attached[target] = asyncio.get_running_loop().create_future()
        return self.attached[target]

    def _network(self, method: str, params: dict, session: str | None) -> None:
        key = (session, params.get("requestId", ""))
        if method in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            request = params.get("request", {})
            url = request.get("url") or params.get("url") or ""
            previous = self.requests.get(key)
            if previous is not None and params.get("redirectResponse"):
                previous.status = params["redirectResponse"].get("status")
            kind = "websocket" if method == "Network.webSocketCreated" \
                else _KINDS.get(params.get("type", ""), "other")
            if kind == "document" and params.get("frameId") != self.main_frame:
                kind = "iframe"
            self._add(key, url, kind, params.get("initiator") or {})
        elif method in ("Network.responseReceived", "Network.webSocketHandshakeResponseReceived") \
                and key in self.requests:
            self.requests[key].status = params.get("response", {}).get("status")
            if self._is_main(session) and params.get("type") == "Document" \
                    and params.get("frameId") == self.main_frame:
                self.result.status = self.requests[key].status
        elif method == "Network.loadingFailed" and key in self.requests:
            item = self.requests[key]
            cors = (params.get("corsErrorStatus") or {}).get("corsError")
            item.error = (params.get("blockedReason") and f"blocked: {params['blockedReason']}") \
                or (cors and f"blocked: CORS {cors}, the server's answer withheld from the page") \
                or ("canceled" if params.get("canceled") else params.get("errorText"))

    def _add(self, key: tuple[str | None, str], url: str, kind: str, initiator: dict) -> None:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError:
            return
        if parts.scheme not in ("http", "https", "ws", "wss") or not host:
            return  # data:, blob:, about: and the like load nothing from the network
        if host not in self.hosts and len(self.hosts) < _MAX_HOSTS:
            self.hosts[host] = asyncio.Event()
        if host in self.hosts:
            self.hosts[host].set()
        if len(self.result.requests) >= self.options.max_requests:
            self.result.truncated = True
            return
        item = BrowserRequest(url[:MAX_URL], host, kind, _initiator_url(initiator),
                              initiator.get("type"))
        self.requests[key] = item
        self.result.requests.append(item)

    async def admit(self, host: str) -> bool:
        """The proxy's gate: was ``host`` requested by the page? The CDP event may trail the
        connection by a little, so wait for it briefly."""
        if host not in self.hosts:
            if len(self.hosts) >= _MAX_HOSTS:
                return False
            self.hosts[host] = asyncio.Event()
        try:
            async with asyncio.timeout(_ADMIT_WAIT):
                await self.hosts[host].wait()
        except TimeoutError:
            return False
        return True

    # -- running --------------------------------------------------------------------------
    async def run(self, proxy: RecordingProxy, executable: str, extra_flags: list[str]) -> None:
        """Start, navigate, watch until settled; TimeoutError once ``options.timeout`` is spent."""
        deadline = time.monotonic() + self.options.timeout
        async with asyncio.timeout_at(asyncio.get_running_loop().time() + self.options.timeout):
            await self._run(proxy, executable, extra_flags, deadline)

    async def _run(self, proxy: RecordingProxy, executable: str, extra_flags: list[str],
                   deadline: float) -> None:
        chromium = self.chromium
        await chromium.start(executable,
                             [*CHROMIUM_FLAGS, f"--proxy-server={proxy.url}", *extra_flags])
        version = await chromium.call("Browser.getVersion",
                                      timeout=min(START_TIMEOUT, self._left(deadline)))
        self.result.browser = version.get("product")
        await chromium.call("Target.setAutoAttach", {
            "autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True})
        await chromium.call("Browser.setDownloadBehavior", {"behavior": "deny"})
        target = await chromium.call("Target.createTarget", {"url": "about:blank"})
        self.main_frame = target["targetId"]  # a page's main frame has its target's id
        async with asyncio.timeout(self._left(deadline)):
            session, failed = await self._attached(target["targetId"])
        if failed is not None:
            raise failed
        self.main_session = session
        self._adopt(session, {"targetId": target["targetId"]})
        self.navigating = True  # from here on, running out of time is a timeout, not a failure
        navigation = await chromium.call("Page.navigate", {"url": self.result.url}, session,
                                         timeout=self._left(deadline))
        if navigation.get("errorText"):
            self.result.error = navigation["errorText"]
            return
        self.last_activity = time.monotonic()
        while (now := time.monotonic()) < deadline and not chromium.closed \
                and not self.result.error:
            if self.loaded and now - self.last_activity >= self.options.settle:
                break
            await asyncio.sleep(0.05)
        if chromium.closed and not self.result.error:
            self.result.error = f"{chromium.closed}: {chromium.log_tail()}".rstrip(": ")

    @staticmethod
    def _left(deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left


def _initiator_url(initiator: dict) -> str | None:
    """The URL behind an initiator: the referring document or style sheet, or the calling script."""
    if initiator.get("url"):
        return initiator["url"][:MAX_URL]
    stack = initiator.get("stack")
    while stack:
        for frame in stack.get("callFrames", []):
            if frame.get("url"):
                return frame["url"][:MAX_URL]
        stack = stack.get("parent")
    return None


async def browse(url: str, *, resolve: Callable[[str], Awaitable[list[str]]],
                 connect_map: ConnectMap | None = None,
                 ca_file: str | os.PathLike[str] | None = None,
                 options: BrowserOptions = BrowserOptions(),
                 allow_private: bool = False) -> BrowserResult:
    """Load ``url`` in a fresh headless Chromium whose only way out is a recording proxy.

    ``resolve`` (async host -> addresses) answers every name the page uses; ``connect_map``
    (``--connect-to``) redirects connections as for the web collector; certificates in
    ``ca_file`` are accepted in chains that present them. Never raises for browser, network
    or page problems: ``result.outcome`` and ``result.error`` say what went wrong.
    """
    run = _PageRun(url, options)
    result = run.result
    started = time.monotonic()
    try:
        executable = find_chromium(options.chromium)
        extra = []
        if ca_file:
            extra.append(f"--ignore-certificate-errors-spki-list={','.join(spki_hashes(ca_file))}")
        async with RecordingProxy(resolve, admit=run.admit, connect_map=connect_map,
                                  max_connections=options.max_requests,
                                  allow_private=allow_private) as proxy:
            try:
                await run.run(proxy, executable, extra)
            except TimeoutError:
                if not run.navigating:
                    late = f"the browser did not start within {options.timeout:g} s"
                    result.error = result.error or late
            except BrowserError as exc:
                result.error = result.error or f"{exc}: {run.chromium.log_tail()}".rstrip(": ")
            except OSError as exc:
                result.error = f"cannot run {executable}: {exc.strerror or exc}"
            finally:
                await run.chromium.stop()
                for task in list(run.setups):
                    task.cancel()
                await proxy.close()
                result.connections = proxy.connections
                result.truncated = result.truncated or proxy.truncated or proxy.dropped > 0
    except BrowserError as exc:
        result.error = str(exc)
    if result.error:
        result.outcome = "error"
    else:
        result.outcome = "ok" if run.loaded else "timeout"
        if not run.loaded:
            result.error = f"timeout: no load event within {options.timeout:g} s"
    result.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return result
