"""Politeness towards RDAP servers: a request rate per server, and the pauses servers ask for.

Registries' RDAP servers rate-limit hard and some block a client that keeps going. RFC 7480 §5.5
(HTTP usage in RDAP): a server that declines a query for its rate limits may answer 429 (RFC 6585
§4), and a client that receives 429 SHOULD decrease its query rate and honour ``Retry-After``.
So, per server (its base URL):

- requests are spaced by ``1 / qps`` seconds (``--rdap-qps``, default ``DEFAULT_QPS``), on top of
  the run's cap of requests in flight (``rdap.MAX_LOOKUPS``);
- after a 429 or 503, no request goes to that server before the pause it asked for
  (``Retry-After``, RFC 9110 §10.2.3; ``NO_RETRY_AFTER`` when it gave none), and its spacing doubles
  for the rest of the run (at most ``SLOWEST`` seconds);
- a look-up waits for such a pause at most ``MAX_PAUSE`` seconds and retries at most ``RETRIES``
  times; beyond, it gives up and its evidence says ``rate-limited``.

One pacer per rate is shared by every look-up of the process (``pacer_for``): a scan, every batch
and partition of a survey run in the process, and concurrent scans of ``souverain serve`` alike.
A survey's ``--workers`` processes each get their share of the rate (``survey.runner``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

# Registries rarely publish their RDAP limits. AFNIC's "Other technical documents" page (a copy at
# https://www.afnic.re/en/resources/reference/technical-guidebooks/other-technical-documents-31.html,
# of about 2017, read 2026-12-07) gives 7,200 requests per 24 h per address for its public Whois
# (port 43, a token bucket); we found nothing published for its RDAP service (unverified). One
# request a second per server is a slow, steady rate (a survey of 35,000 .fr domains takes ten
# hours); the 429s it may still meet are honoured below. Raise it only for a server whose
# operator allows more, or a local mirror.
DEFAULT_QPS = 1.0
MAX_PAUSE = 60.0  # seconds a look-up waits for a pause a server asked for; beyond, it gives up
RETRIES = 2  # further requests of one look-up after a 429/503
NO_RETRY_AFTER = 5.0  # the pause after a 429/503 that says nothing of how long to wait
SLOWEST = 60.0  # the spacing a slowed-down server reaches at most (unless --rdap-qps asks for slower)


class ServerPacer:
    """Request slots per server, shared by concurrent look-ups (threads too: Dask runs partitions in threads)."""

    def __init__(self, qps: float = DEFAULT_QPS, *, retries: int = RETRIES, max_pause: float = MAX_PAUSE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not qps > 0:
            raise ValueError(f"requests per second must be positive (got {qps})")
        self.interval = 1.0 / qps
        self.retries = retries
        self.max_pause = max_pause
        self._clock = clock
        self._next: dict[str, float] = {}  # server -> the first free slot
        self._gap: dict[str, float] = {}  # server -> its spacing, once slowed down
        self._paused: dict[str, float] = {}  # server -> no request before this moment (Retry-After)
        self._lock = threading.Lock()

    def gap(self, server: str) -> float:
        """Seconds between two requests to ``server`` now."""
        return self._gap.get(server, self.interval)

    def reserve(self, server: str) -> tuple[float | None, float]:
        """(the pause ``server`` asked for when it is longer than a look-up waits, else None;
        seconds to wait for the slot now reserved, 0 when nothing was reserved)."""
        with self._lock:
            now = self._clock()
            paused = self._paused.get(server, now) - now
            if paused > self.max_pause:
                return paused, 0.0
            slot = max(now, now + paused, self._next.get(server, now))
            self._next[server] = slot + self.gap(server)
            return None, slot - now

    def paused(self, server: str) -> bool:
        """A pause asked for after this slot was reserved is still running."""
        with self._lock:
            return self._paused.get(server, 0.0) > self._clock() + 0.01  # the loop may wake a hair early

    async def wait(self, server: str) -> float | None:
        """Wait for ``server``'s next slot; None when it is time to send, else the (too long)
        pause the server asked for, and then no slot is taken."""
        while True:
            too_long, delay = self.reserve(server)
            if too_long is not None:
                return too_long
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.paused(server):  # else a 429 came while we slept: take a slot after the pause
                return None

    def back_off(self, server: str, retry_after: float | None) -> None:
        """``server`` answered 429 or 503: pause it as asked, and halve its rate for the rest of the run."""
        with self._lock:
            now = self._clock()
            pause = NO_RETRY_AFTER if retry_after is None else max(0.0, retry_after)
            self._paused[server] = max(self._paused.get(server, now), now + pause)
            self._gap[server] = gap = max(self.interval, min(self.gap(server) * 2, SLOWEST))
            self._next[server] = max(self._next.get(server, now), now + gap)  # the slower pace starts now


_pacers: dict[float, ServerPacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(qps: float | None) -> ServerPacer:
    """The process's pacer for ``qps`` requests per second per server (None: ``DEFAULT_QPS``)."""
    rate = DEFAULT_QPS if qps is None else float(qps)
    with _pacers_lock:
        if rate not in _pacers:
            _pacers[rate] = ServerPacer(rate)
        return _pacers[rate]
