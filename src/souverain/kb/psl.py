"""Public Suffix List matching from the bundled snapshot (no network, ever).

Implements the PSL algorithm (https://publicsuffix.org/list/): normal, wildcard and exception
rules, ICANN and private sections. Used to reject fingerprints that are public suffixes and to
tell first-party from third-party hosts by registrable domain. An IP address is not a name: the
list does not apply to it (``203.0.113.5`` is its own registrable domain, not ``113.5``).
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from souverain.kb.hostnames import is_address, normalise_host

__all__ = ["BUNDLED", "PublicSuffixList", "normalise_host"]

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
            rule = line.split()[0]
            rule = (rule.encode("idna").decode("ascii") if not rule.isascii() else rule).lower()
            if rule.startswith("!"):
                self.exceptions.add(rule[1:])
            else:
                self.rules[rule] = icann

    @classmethod
    def bundled(cls) -> PublicSuffixList:
        return _bundled()

    def public_suffix(self, host: str, *, private: bool = True) -> str:
        """The longest public suffix of ``host`` (``*`` default rule: its last label); an IP
        address has none (empty string)."""
        host = normalise_host(host)
        if is_address(host):
            return ""
        labels = host.split(".")
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
        """The public suffix plus one label, or None when ``host`` is itself a public suffix; an
        IP address is its own registrable domain."""
        host = normalise_host(host)
        if is_address(host):
            return host
        suffix = self.public_suffix(host, private=private)
        if host == suffix:
            return None
        rest = host[: -len(suffix) - 1]
        return f"{rest.rsplit('.', 1)[-1]}.{suffix}"

    def is_public_suffix(self, host: str, *, private: bool = False) -> bool:
        host = normalise_host(host)
        return self.public_suffix(host, private=private) == host


@functools.cache
def _bundled() -> PublicSuffixList:
    with gzip.open(BUNDLED, "rt", encoding="utf-8") as handle:
        return PublicSuffixList(handle.read())
