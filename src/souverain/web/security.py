"""What makes the server safe to expose: address classes refused as scan targets (SSRF guard),
the bearer token and session cookie, CSRF tokens, security headers and request size limits."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import time
from pathlib import Path
from typing import Any

from souverain.errors import UsageError

CGNAT = ipaddress.ip_network("100.64.0.0/10")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'")
# the HTML reports carry their own <style> and inline SVG: shown in a sandboxed frame, no script at all
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "SAMEORIGIN",
    "cross-origin-opener-policy": "same-origin",
}
SESSION_COOKIE = "souverain_session"
CSRF_COOKIE = "souverain_csrf"
SESSION_SECONDS = 12 * 3600


class TargetRefused(UsageError):
    """A scan target (or a name the web fetch follows) resolves to an address the server must not reach."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        super().__init__(f"{host} resolves to {address} ({kind} address): refused; start the server "
                         "with --allow-private-targets to scan such targets")
        self.host, self.address, self.kind = host, address, kind


def address_class(text: str) -> str | None:
    """The refused class of an IP address (loopback, private, link-local, cgnat, multicast,
    reserved), None for a public one."""
    ip = ipaddress.ip_address(text.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "cgnat"
    if ip.is_unspecified or ip.is_reserved:
        return "reserved"
    if ip.is_private:  # RFC 1918, ULA, and the documentation / benchmarking ranges
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def check_addresses(host: str, addresses: list[str]) -> None:
    """TargetRefused for the first address of ``host`` in a refused class."""
    for address in addresses:
        kind = address_class(address)
        if kind is not None:
            raise TargetRefused(host, address, kind)


def allowed_address(address: str) -> bool:
    return address_class(address) is None


def read_token(path: Path) -> str:
    """The API token: the file's first line, at least 16 characters."""
    try:
        token = path.read_text(encoding="utf-8").strip().splitlines()[0].strip() if path.stat().st_size else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--token-file {path}: cannot read it ({exc})") from exc
    if len(token) < 16:
        raise UsageError(f"--token-file {path}: the token (first line) must have at least 16 characters")
    return token


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Sessions:
    """Signed session cookies (HMAC with a key drawn at start: a restart logs everybody out); a
    signed-out cookie is remembered as revoked until it would have expired."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)
        self.revoked: dict[str, int] = {}  # nonce -> expiry

    def _sign(self, payload: str) -> str:
        return hmac.new(self.key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, user: str | None = None) -> str:
        payload = json.dumps({"exp": int(time.time()) + SESSION_SECONDS, "n": secrets.token_hex(8), "u": user})
        return f"{payload.encode().hex()}.{self._sign(payload)}"

    def data(self, cookie: str | None) -> dict[str, Any] | None:
        """The session's content (``u``: the user, None for the token) when the cookie is valid."""
        if not cookie or "." not in cookie:
            return None
        encoded, signature = cookie.rsplit(".", 1)
        try:
            payload = bytes.fromhex(encoded).decode()
            data: dict[str, Any] = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return None
        if not same(signature, self._sign(payload)) or not isinstance(data, dict):
            return None
        if int(data.get("exp", 0)) <= time.time() or str(data.get("n")) in self.revoked:
            return None
        return data

    def valid(self, cookie: str | None) -> bool:
        return self.data(cookie) is not None

    def revoke(self, cookie: str | None) -> None:
        data = self.data(cookie)
        if data is None:
            return
        now = time.time()
        self.revoked = {n: exp for n, exp in self.revoked.items() if exp > now}
        self.revoked[str(data["n"])] = int(data["exp"])


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


async def check_targets(domains: list[str], nameservers: list[tuple[str, int]] | None, timeout: float) -> None:
    """TargetRefused when a domain, or its www host (the web fetch's other start), resolves to a
    refused address; asked of the server's own resolver, as the scan will."""
    import asyncio

    from souverain.collect.dns import Resolver
    from souverain.collect.domain import send_host

    async with Resolver(nameservers, timeout=timeout, retries=1) as resolver:
        hosts = [host for domain in domains for host in (domain, f"www.{domain}")]
        sent = [(host, send_host(resolver, host)) for host in hosts]
        for host, (a_sent, aaaa_sent) in sent:
            a, aaaa = await asyncio.gather(a_sent, aaaa_sent)
            check_addresses(host, a.values("A") + aaaa.values("AAAA"))


class RateLimit:
    """At most ``limit`` events per ``window`` seconds for each key (a client address): scan
    submissions and sign-in attempts."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self.events: dict[str, list[float]] = {}

    def retry_after(self, key: str) -> int:
        """0 when the event may happen now (and counts it), else the seconds to wait."""
        now = time.monotonic()
        recent = [moment for moment in self.events.get(key, []) if now - moment < self.window]
        if len(recent) >= self.limit:
            self.events[key] = recent
            return max(1, int(self.window - (now - recent[0])) + 1)
        recent.append(now)
        self.events[key] = recent
        if len(self.events) > 10_000:  # forget idle clients
            self.events = {k: v for k, v in self.events.items() if v and now - v[-1] < self.window}
        return 0
