"""``--connect-to`` maps: connect to another address than the one a name resolves to, as curl does.

A scan pointed at a recorded or synthetic world (a loopback web server) keeps every name, TLS SNI
and Host header real: only the socket goes elsewhere. Used by the web collector and by the
browser's recording proxy alike.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable

from souverain.errors import UsageError
from souverain.kb.hostnames import normalise_host

_HOST_FIELD = r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]*)"
_CONNECT_TO = re.compile(rf"^{_HOST_FIELD}:(\d*):{_HOST_FIELD}:(\d*)$")


@dataclasses.dataclass(frozen=True)
class ConnectRule:
    """One ``HOST1:PORT1:HOST2:PORT2`` rule, as in curl: empty HOST1/PORT1 match anything,
    empty HOST2/PORT2 keep the original."""

    from_host: str = ""
    from_port: int | None = None
    to_host: str = ""
    to_port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        return (not self.from_host or self.from_host == _host_key(host)) and (
            self.from_port is None or self.from_port == port
        )


@dataclasses.dataclass
class ConnectMap:
    """curl-style ``--connect-to`` rules; the first matching rule wins."""

    rules: list[ConnectRule] = dataclasses.field(default_factory=list)

    @classmethod
    def parse(cls, specs: Iterable[str]) -> ConnectMap:
        if isinstance(specs, str):
            specs = [specs]
        return cls([parse_rule(spec) for spec in specs])

    def target(self, host: str, port: int) -> tuple[str, int]:
        for rule in self.rules:
            if rule.matches(host, port):
                return rule.to_host or host, rule.to_port or port
        return host, port


def parse_rule(spec: str) -> ConnectRule:
    """One ``HOST1:PORT1:HOST2:PORT2`` rule; UsageError saying what is wrong with it."""
    problem = f"--connect-to {spec!r}: expected HOST1:PORT1:HOST2:PORT2 (IPv6 in brackets)"
    match = _CONNECT_TO.match(spec.strip())
    if not match:
        raise UsageError(problem)
    from_host, from_port, to_host, to_port = match.groups()
    ports = []
    for text in (from_port, to_port):
        if text and not 0 < int(text) < 65536:
            raise UsageError(f"{problem}: bad port {text!r}")
        ports.append(int(text) if text else None)
    from_host = from_host.strip().strip("[]")
    if from_host:
        try:
            from_host = normalise_host(from_host)
        except ValueError as exc:
            raise UsageError(f"{problem}: HOST1: {exc}") from None
    to_host = to_host.strip("[]")
    if to_host:
        # The target must be an address: a name would make us resolve it ourselves.
        try:
            to_host = str(ipaddress.ip_address(to_host))
        except ValueError:
            raise UsageError(f"{problem}: HOST2 must be an IP address") from None
    return ConnectRule(from_host, ports[0], to_host, ports[1])


def _host_key(host: str) -> str:
    try:
        return normalise_host(host)
    except ValueError:  # no rule names an impossible host
        return ""
