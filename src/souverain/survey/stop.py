"""Stopping a survey on Ctrl-C without losing finished work.

The first SIGINT only sets a flag and says so at once on stderr; the executors poll the flag,
stop handing out work, cancel the domains in flight and write every finished result before
returning. The signal handler itself never interrupts a database write. A second SIGINT raises
KeyboardInterrupt as usual, for when saving takes too long.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

ACKNOWLEDGEMENT = "interrupted: saving finished results... (Ctrl-C again to quit without saving)"


class StopRequest:
    """A flag the executors poll (``stop()`` is true once a stop was asked for)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def request(self, line: str = ACKNOWLEDGEMENT) -> None:
        if not self.requested:
            self.requested = True
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def _on_sigint(self, _signum, _frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.request()

    @contextlib.contextmanager
    def on_sigint(self) -> Iterator[StopRequest]:
        """Route SIGINT to this request while the block runs (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
