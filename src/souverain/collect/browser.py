"""Browser collector (opt-in): run a home page in headless Chromium and record what it loads.

Static HTML shows what a page names; scripts, tag managers and consent banners add more once
they run. This collector drives Debian's Chromium through the Chrome DevTools Protocol over
``--remote-debugging-pipe`` (file descriptors 3 and 4, NUL-separated JSON: no port, no
dependency) and sends all of its traffic through ``collect.proxy.RecordingProxy``, so:

- every host the page contacts is resolved by souverain's resolver (``--nameserver``) and every
  connection is recorded (host, address, port, bytes); Chromium itself resolves nothing
  (``--host-resolver-rules``) and reaches nothing but the proxy (loopback included);
- CDP network events say what was requested (URL, resource type, initiator, status), from the
  page, its frames (out-of-process ones too, via auto-attach) and its workers.

Every run has a fresh temporary profile and HOME, flags that silence the browser's own
background traffic (what slips through before navigation is refused by the proxy and shown),
a total deadline, a settle time after the load event, and caps on requests and connections. The
browser's process group is killed on every path (errors, timeouts, Ctrl-C) and the profile
removed. Failures never raise out of ``browse``: they come back in ``BrowserResult.error``.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import dataclasses
import datetime as dt
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from souverain.collect import recheck
from souverain.collect.domain import Evidence, resolve_host
from souverain.collect.proxy import Connection, RecordingProxy
from souverain.errors import SouverainError

if TYPE_CHECKING:
    from souverain.collect.dns import Resolver
    from souverain.collect.domain import DomainObservation, HostAddresses
    from souverain.collect.web import ConnectMap

DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "install it with `apt-get install chromium` (Debian, Ubuntu) or give --chromium PATH"
MAX_BROWSERS = 2  # Chromium runs at once in one scan: each takes a few hundred MB and a core
MAX_MESSAGE = 32 * 1024 * 1024  # one CDP message; a page cannot make us buffer more
MAX_URL = 2048  # characters of a URL kept in evidence
MAX_RECORDS_PER_HOST = 50
_START_TIMEOUT = 10.0  # seconds for Chromium to answer its first command
_LOG_TAIL = 2000
_ADMIT_WAIT = 1.0  # seconds the proxy waits for the page's request to a host it is asked for
_MAX_HOSTS = 2000
_TRAMPOLINE = (
    "import fcntl, os, sys\n"
    "r, w = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])\n"
    "os.dup2(r, 3)\nos.dup2(w, 4)\n"
    "for fd in {r, w, *map(int, sys.argv[1:3])} - {3, 4}:\n    os.close(fd)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)

# Flags that keep Chromium quiet: no sync, updates, metrics, safe browsing, translation,
# extensions, QUIC (it would bypass an HTTP proxy) or UDP (WebRTC), and no DNS of its own.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-default-browser-check", "--disable-extensions",
    "--disable-component-extensions-with-background-pages", "--disable-client-side-phishing-detection",
    "--disable-domain-reliability", "--disable-breakpad", "--no-pings", "--metrics-recording-only",
    "--safebrowsing-disable-auto-update", "--disable-field-trial-config", "--mute-audio",
    "--hide-scrollbars", "--password-store=basic", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ("--disable-features=Translate,OptimizationHints,OptimizationGuideModelDownloading,MediaRouter,"
     "DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
     "InterestFeedContentSuggestions,NetworkTimeServiceQuerying,SafeBrowsingBetterTelemetryOptIn"),
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-bypass-list=<-loopback>", "--window-size=1280,800", "--remote-debugging-pipe",
)
START_URL = "about:blank"  # last argument: without it, the start-up page is the distribution's

# Profile preferences of every run: no sign-in (its account checks), no suggestions, safe
# browsing, translation or error-page lookups; a blank start page.
_PREFERENCES = {
    "signin": {"allowed": False, "allowed_on_next_startup": False},
    "search": {"suggest_enabled": False},
    "safebrowsing": {"enabled": False},
    "translate": {"enabled": False},
    "alternate_error_pages": {"enabled": False},
    "credentials_enable_service": False,
    "autofill": {"profile_enabled": False, "credit_card_enabled": False},
    "browser": {"check_default_browser": False, "has_seen_welcome_page": True},
    "homepage": "about:blank", "homepage_is_newtabpage": False,
    "session": {"restore_on_startup": 4, "startup_urls": ["about:blank"]},
}

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
    "Manifest": "manifest", "Ping": "ping", "CSPViolationReport": "report", "Preflight": "preflight",
}


# What became of a request (``BrowserResult.request_outcome``), as evidence says it.
OUTCOMES = {
    "loaded": "loaded",  # a server answered (its HTTP status is the detail)
    "refused": "refused by souverain's proxy",  # the page asked, the proxy would not connect
    "blocked": "blocked by the browser",  # mixed content, CSP, CORP (no request sent); CORS (answer withheld)
    "failed": "failed",  # no address, connection or TLS error
    "canceled": "canceled",
    "no-response": "no response before the run ended",
}
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


class BrowserError(SouverainError):
    """Chromium could not be used (missing, would not start, crashed, protocol error)."""


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
        """What happened to it, then what asked for it: ``loaded (HTTP 200) · initiator script URL``."""
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

    def request_outcome(self, request: BrowserRequest) -> tuple[str, str | None]:
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

    def outcomes(self) -> dict[str, tuple[str, str | None]]:
        """URL -> (outcome, detail) for every URL ``observed()`` lists; "loaded" when any request
        for the URL (or, for a connection, any bytes from the server) came back."""
        found: dict[str, tuple[str, str | None]] = {}
        for request in self.requests:
            outcome = self.request_outcome(request)
            if request.url not in found or outcome[0] == "loaded":
                found[request.url] = outcome
        for host, url, kind in self.observed():
            if kind == "connection":
                made = [c for c in self.connections if c.host == host and c.status != "refused"]
                loaded = any(c.status == "ok" and c.received for c in made)
                found[url] = ("loaded", None) if loaded else ("failed", next((c.error for c in made if c.error), None))
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


@dataclasses.dataclass
class BrowserEvidence(Evidence):
    """Evidence from the browser; re-checked by fetching the URL it names."""

    def recheck_argv(self) -> list[str] | None:
        url = self.detail.get("url")
        return recheck.curl_argv(url) if url else None


# -- Chromium over a pipe -----------------------------------------------------------------------

_LIVE_GROUPS: set[int] = set()  # process groups to kill if the interpreter exits first


@atexit.register
def _kill_leftovers() -> None:
    for group in list(_LIVE_GROUPS):
        _kill_group(group)


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _LIVE_GROUPS.discard(group)


def find_chromium(path: str = DEFAULT_CHROMIUM) -> str:
    """The executable to run, or BrowserError saying how to install it."""
    found = shutil.which(path)
    if found is None:
        raise BrowserError(f"Chromium not found at {path}: {INSTALL_HINT}")
    return found


def spki_hashes(ca_file: str | os.PathLike[str]) -> list[str]:
    """base64 SHA-256 of the public keys of the certificates in a PEM file, the form
    ``--ignore-certificate-errors-spki-list`` takes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificates = x509.load_pem_x509_certificates(Path(ca_file).read_bytes())
    except (OSError, ValueError) as exc:
        raise BrowserError(f"cannot read CA file {ca_file}: {exc}") from exc
    der = serialization.Encoding.DER
    info = serialization.PublicFormat.SubjectPublicKeyInfo
    return [base64.b64encode(hashlib.sha256(c.public_key().public_bytes(der, info)).digest()).decode()
            for c in certificates]


class _Chromium:
    """One Chromium process, its temporary folder, and the CDP connection over the pipe."""

    def __init__(self, on_event: Callable[[str, dict, str | None], None]) -> None:
        self.on_event = on_event
        self.folder: Path | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.WriteTransport | None = None
        self._reader_task: asyncio.Task | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self.closed: str | None = None  # why the connection ended

    async def start(self, executable: str, flags: list[str]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="souverain-chromium-"))
        profile, home = self.folder / "profile", self.folder / "home"
        (profile / "Default").mkdir(parents=True)
        (profile / "Default" / "Preferences").write_text(json.dumps(_PREFERENCES), encoding="utf-8")
        home.mkdir()
        # A fresh HOME too: nothing read from or written to the user's own (NSS database, caches).
        env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_CACHE_HOME": str(home / ".cache")}
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        to_child, from_parent = os.pipe()  # Chromium reads commands on fd 3
        to_parent, from_child = os.pipe()  # and writes answers and events on fd 4
        # subprocess cannot place a descriptor at a given number: a short Python step moves our
        # pipe ends to 3 and 4, then becomes Chromium (POSIX sh only handles descriptors 0-9).
        log = open(self.folder / "chromium.log", "wb")  # noqa: SIM115 - closed below
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-S", "-c", _TRAMPOLINE, str(to_child), str(from_child),
                executable, f"--user-data-dir={profile}", *flags, START_URL,
                pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, env=env,
            )
        finally:
            log.close()
            os.close(to_child)
            os.close(from_child)
        _LIVE_GROUPS.add(self.process.pid)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_MESSAGE)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(to_parent, "rb", 0))
        self._writer, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(from_parent, "wb", 0))
        self._reader_task = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                message = json.loads((await reader.readuntil(b"\0"))[:-1])
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        if "error" in message:
                            future.set_exception(BrowserError(f"CDP: {message['error'].get('message')}"))
                        else:
                            future.set_result(message.get("result", {}))
                elif "method" in message:
                    self.on_event(message["method"], message.get("params", {}), message.get("sessionId"))
        except asyncio.IncompleteReadError:
            self.closed = "the browser exited"
        except asyncio.LimitOverrunError:
            self.closed = "a DevTools message over the size limit"
        except (ValueError, OSError) as exc:
            self.closed = f"unreadable DevTools message: {exc}"
        finally:
            self.closed = self.closed or "stopped"
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BrowserError(self.closed))
            self._pending.clear()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self.closed or self._writer is None or self._writer.is_closing():
            future.set_exception(BrowserError(self.closed or "the browser is not running"))
            return future
        self._next_id += 1
        self._pending[self._next_id] = future
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._writer.write(json.dumps(message).encode() + b"\0")
        return future

    def fire(self, method: str, params: dict | None = None, session: str | None = None) -> None:
        """Send without waiting for the answer (an error, say the target went away, is dropped)."""
        self.send(method, params, session).add_done_callback(lambda f: f.cancelled() or f.exception())

    async def call(self, method: str, params: dict | None = None, session: str | None = None,
                   timeout: float = 5.0) -> dict:
        async with asyncio.timeout(timeout):
            return await self.send(method, params, session)

    def log_tail(self) -> str:
        try:
            text = (self.folder / "chromium.log").read_bytes()[-_LOG_TAIL:] if self.folder else b""
        except OSError:
            return ""
        lines = [line for line in text.decode("utf-8", "replace").splitlines()
                 if line.strip() and "dbus" not in line and "unexpected operator" not in line]
        return " | ".join(lines[-3:])[:500]

    async def stop(self) -> None:
        """Kill the process group (the profile is thrown away: nothing to close gracefully),
        reap the process, remove the folder. Also runs to the end when the task is being
        cancelled (Ctrl-C): the kill comes first and is synchronous."""
        try:
            self._kill()
            if self.process is not None:
                async with asyncio.timeout(3.0):
                    await self.process.wait()
        except TimeoutError:
            pass
        finally:
            self._remove_folder()

    def _kill(self) -> None:
        if self.process is not None:
            _kill_group(self.process.pid)  # the whole group: renderers, GPU and network services
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()

    def _remove_folder(self) -> None:
        """Killed processes may still be going away: try again briefly if files reappear."""
        for _ in range(20):
            if self.folder is None or not self.folder.exists():
                return
            shutil.rmtree(self.folder, ignore_errors=True)
            if self.folder.exists():
                time.sleep(0.05)


# -- one page -----------------------------------------------------------------------------------


class _PageRun:
    """The state of one ``browse`` call: sessions, requests, load, quiet time."""

    def __init__(self, url: str, options: BrowserOptions) -> None:
        self.result = BrowserResult(url)
        self.options = options
        self.chromium = _Chromium(self.on_event)
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
        elif method in ("Inspector.targetCrashed", "Target.targetCrashed") and self._is_main(session):
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
            kind = "websocket" if method == "Network.webSocketCreated" else _KINDS.get(params.get("type", ""), "other")
            if kind == "document" and params.get("frameId") != self.main_frame:
                kind = "iframe"
            self._add(key, url, kind, params.get("initiator") or {})
        elif method in ("Network.responseReceived", "Network.webSocketHandshakeResponseReceived") \
                and key in self.requests:
            self.requests[key].status = params.get("response", {}).get("status")
            if self._is_main(session) and params.get("type") == "Document" and params.get("frameId") == self.main_frame:
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
        item = BrowserRequest(url[:MAX_URL], host, kind, _initiator_url(initiator), initiator.get("type"))
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

    async def _run(self, proxy: RecordingProxy, executable: str, extra_flags: list[str], deadline: float) -> None:
        chromium = self.chromium
        await chromium.start(executable, [*CHROMIUM_FLAGS, f"--proxy-server={proxy.url}", *extra_flags])
        version = await chromium.call("Browser.getVersion", timeout=min(_START_TIMEOUT, self._left(deadline)))
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
        while (now := time.monotonic()) < deadline and not chromium.closed and not self.result.error:
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
                 connect_map: ConnectMap | None = None, ca_file: str | os.PathLike[str] | None = None,
                 options: BrowserOptions = BrowserOptions(), allow_private: bool = False) -> BrowserResult:
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
                    result.error = result.error or f"the browser did not start within {options.timeout:g} s"
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


# -- evidence -----------------------------------------------------------------------------------


async def observe_site(resolver: Resolver, obs: DomainObservation, options: BrowserOptions, *,
                       connect_map: ConnectMap | None = None, ca_file: str | None = None) -> None:
    """Run the home page the web collector fetched in the browser; add the evidence to ``obs``
    and the result to ``obs.site.browser``. Names are resolved (and recorded as DNS evidence,
    CNAME chains included) through ``resolver``."""
    site = obs.site
    if site is None or site.status is None:  # nothing answered the fetch: the browser would not fare better
        return
    url = site.redirects[0]["url"] if site.redirects else (site.final_url or site.requested_url)
    resolved: dict[str, HostAddresses] = {}

    async def resolve(host: str) -> list[str]:
        resolved[host] = await resolve_host(resolver, obs, host, "browser-host")
        return resolved[host].addresses

    # A site on a private network may load from it; a public one may not reach into ours.
    allow_private = bool(site.address) and not ipaddress.ip_address(site.address).is_global
    result = await browse(url, resolve=resolve, connect_map=connect_map, ca_file=ca_file, options=options,
                          allow_private=allow_private)
    record_evidence(obs, result, resolved)
    site.browser = result


def record_evidence(obs: DomainObservation, result: BrowserResult,
                    resolved: dict[str, HostAddresses] | None = None) -> None:
    """One ``page-load`` item for the run, and one ``requests`` item per host contacted (the
    URLs, types and initiators, the connections, and the DNS evidence of the name)."""
    resolved = resolved or {}
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    refused = sorted({f"{c.host}:{c.port}" for c in result.connections if c.status == "refused"})
    result.page_evidence = _add(obs, result.url, "page-load", result.outcome, at, {
        "browser": result.browser or "Chromium", "final_url": result.final_url, "status": result.status, "error": result.error,
        "elapsed_ms": result.elapsed_ms, "requests": len(result.requests),
        "hosts": len({r.host for r in result.requests} | {c.host for c in result.connections}),
        "truncated": result.truncated, "dialogs": result.dialogs, "refused": refused, "url": result.url,
    })
    by_host: dict[str, list[BrowserRequest]] = {}
    for request in result.requests:
        by_host.setdefault(request.host, []).append(request)
    for item in result.connections:
        if item.status != "refused":
            by_host.setdefault(item.host, [])
    for host, requests in by_host.items():
        made = [c for c in result.connections if c.host == host]
        connections = [c for c in made if c.status != "refused"]
        errors = sorted({c.error for c in made if c.error} | {r.error for r in requests if r.error})
        outcomes = [result.request_outcome(r) for r in requests]
        records = [{"name": r.url, "type": r.kind, "ttl": None, "value": r.describe(outcome), "outcome": outcome[0]}
                   for r, outcome in zip(requests[:MAX_RECORDS_PER_HOST], outcomes, strict=False)]
        if not requests:
            outcomes = [("loaded", None) if c.status == "ok" and c.received else ("failed", c.error)
                        for c in connections]
            records = [{"name": f"{host}:{c.port}", "type": "connection", "ttl": None,
                        "value": f"{c.method} {OUTCOMES[what]}" + (f" ({detail})" if detail else ""), "outcome": what}
                       for c, (what, detail) in zip(connections[:MAX_RECORDS_PER_HOST], outcomes, strict=False)]
        dns = resolved[host].evidence if host in resolved else []
        # "ok" when anything loaded; otherwise what became of the first request (refused, blocked...)
        status = "ok" if any(what == "loaded" for what, _ in outcomes) else (outcomes[0][0] if outcomes else "error")
        evidence_id = _add(obs, host, "requests", status, at, {
            "url": requests[0].url if requests else None, "requests": len(requests),
            "connections": len(connections),
            "addresses": sorted({c.address for c in connections if c.address}),
            "ports": sorted({c.port for c in connections}), "sent": sum(c.sent for c in connections),
            "received": sum(c.received for c in connections), "errors": errors[:10],
            "cnames": resolved[host].cnames if host in resolved else [], "dns_evidence": dns,
            "browser": result.browser or "Chromium", "page": result.page_evidence,
        }, records)
        result.host_evidence[host] = [evidence_id, result.page_evidence, *dns]


def _add(obs: DomainObservation, subject: str, kind: str, status: str, at: str, detail: dict,
         records: list[dict] | None = None) -> str:
    item = BrowserEvidence(f"e{len(obs.evidence) + 1}", "browser", kind, subject, status,
                           records=records or [], at=at, detail=detail)
    obs.evidence.append(item)
    return item.id
