"""Chromium as a child process driven over the DevTools pipe (CDP, ``--remote-debugging-pipe``).

Descriptors 3 and 4 carry NUL-separated JSON: no port, no dependency. Every run gets a fresh
temporary profile and HOME, flags that silence the browser's own background traffic and resolve
no name (``--host-resolver-rules``); the process group is killed on every path (errors, timeouts,
Ctrl-C, interpreter exit) and the folder removed. ``collect.page_run`` drives one page with it.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from souverain.errors import SouverainError

DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "install it with `apt-get install chromium` (Debian, Ubuntu) or give --chromium PATH"
MAX_MESSAGE = 32 * 1024 * 1024  # one CDP message; a page cannot make us buffer more
START_TIMEOUT = 10.0  # seconds for Chromium to answer its first command
_LOG_TAIL = 2000
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
    "--disable-component-extensions-with-background-pages",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability", "--disable-breakpad", "--no-pings", "--metrics-recording-only",
    "--safebrowsing-disable-auto-update", "--disable-field-trial-config", "--mute-audio",
    "--hide-scrollbars", "--password-store=basic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
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


class BrowserError(SouverainError):
    """Chromium could not be used (missing, would not start, crashed, protocol error)."""



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
    keys = [c.public_key().public_bytes(der, info) for c in certificates]
    return [base64.b64encode(hashlib.sha256(key).digest()).decode() for key in keys]


class Chromium:
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
        log = open(self.folder / "chromium.log", "wb")  # noqa: SIM115, ASYNC230 - closed below; opening is instant
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
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     os.fdopen(to_parent, "rb", 0))
        self._writer, _ = await loop.connect_write_pipe(asyncio.Protocol,
                                                        os.fdopen(from_parent, "wb", 0))
        self._reader_task = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                message = json.loads((await reader.readuntil(b"\0"))[:-1])
                if "id" in message:
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        if "error" in message:
                            error = message["error"].get("message")
                            future.set_exception(BrowserError(f"CDP: {error}"))
                        else:
                            future.set_result(message.get("result", {}))
                elif "method" in message:
                    self.on_event(message["method"], message.get("params", {}),
                                  message.get("sessionId"))
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

    def send(self, method: str, params: dict | None = None,
             session: str | None = None) -> asyncio.Future:
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
        future = self.send(method, params, session)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

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
