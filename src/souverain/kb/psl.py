"""Public Suffix List matching from the bundled snapshot (no network, ever).

Implements the PSL algorithm (https://publicsuffix.org/list/): normal, wildcard and exception
rules, ICANN and private sections. Used to reject fingerprints that are public suffixes and to
tell first-party from third-party hosts by registrable domain.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

BUNDLED = Path(__file__).parent / "bundled" / "public_suffix_list.dat.gz"


class PublicSuffixList:
    def __init__(self, text: str) -> None:
        self.rules: dict[str, bool] = {}  # rule -> is ICANN section
        self.exceptions: set[str] = set()
        self.version = ""
        icann = True
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("// VERSION:"):
                self.version = line.split(":", 1)[1].strip()
            if line.startswith("// ===BEGIN PRIVATE DOMAINS"):
                icann = False
            if not line or line.startswith("//"):
                continue
            rule = line.split()[0].encode("idna").decode("ascii") if not line.isascii() else line.split()[0]
            rule = rule.lower()
            if rule.startswith("!"):
                self.exceptions.add(rule[1:])
            else:
                self.rules[rule] = icann

    @classmethod
    def bundled(cls) -> PublicSuffixList:
        return _bundled()

    def public_suffix(self, host: str, *, private: bool = True) -> str:
        """The longest public suffix of ``host`` (``*`` default rule: its last label)."""
        labels = normalise_host(host).split(".")
        best = labels[-1]
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.exceptions:
                return ".".join(labels[i + 1 :])
            wildcard = "*." + ".".join(labels[i + 1 :]) if i + 1 < len(labels) else None
            for rule in (candidate, wildcard):
                if rule is not None and rule in self.rules and (private or self.rules[rule]):
                    return candidate
        return best

    def registrable_domain(self, host: str, *, private: bool = True) -> str | None:
        """The public suffix plus one label, or None when ``host`` is itself a public suffix."""
        host = normalise_host(host)
        suffix = self.public_suffix(host, private=private)
        if host == suffix:
            return None
        rest = host[: -len(suffix) - 1]
        return f"{rest.rsplit('.', 1)[-1]}.{suffix}"

    def is_public_suffix(self, host: str, *, private: bool = False) -> bool:
        host = normalise_host(host)
        return self.public_suffix(host, private=private) == host


def normalise_host(host: str) -> str:
    """Lowercase, strip the trailing dot, IDNA-encode; raise ValueError for impossible names."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise ValueError("empty host name")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    if len(host) > 253 or any(not 0 < len(label) <= 63 for label in host.split(".")):
        raise ValueError(f"{host!r} is not a valid host name (label length)")
    return host


@functools.cache
def _bundled() -> PublicSuffixList:
    with gzip.open(BUNDLED, "rt", encoding="utf-8") as handle:
        return PublicSuffixList(handle.read())
