"""One spelling per host: the normaliser every part of souverain compares host names with.

A host arrives from a user, a DNS answer, a URL, a certificate or a KB record, in any case, with
or without the root's trailing dot, in Unicode or in its IDNA (``xn--``) form; an IP address may
come spelled several ways. Matching fingerprints, telling first from third parties and applying
``--connect-to`` rules all compare the one form ``normalise_host`` returns.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


def normalise_host(host: str) -> str:
    """Lowercase, no trailing dot, IDNA (ASCII) form; an IP literal in its canonical spelling
    (``2001:DB8:0::1`` -> ``2001:db8::1``). ValueError for impossible names (empty, a label
    longer than 63 or a name longer than 253 characters, Unicode that IDNA refuses)."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise ValueError("empty host name")
    if _may_be_address(host):
        address = ip_literal(host)
        if address is not None:
            return address
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # UnicodeError is a ValueError
    if len(host) > 253 or any(not 0 < len(label) <= 63 for label in host.split(".")):
        raise ValueError(f"{host!r} is not a valid host name (label length)")
    return host


def is_address(host: str) -> bool:
    """Whether a host ``normalise_host`` returned is an IP address rather than a name."""
    return _may_be_address(host) and ip_literal(host) is not None


def _may_be_address(host: str) -> bool:
    # Names end in a letter (a top-level label is never numeric): most hosts skip the parse.
    return host[-1:].isdigit() or ":" in host


def ip_literal(value: str) -> str | None:
    """``value`` as an IP address in canonical form, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def ip_literals(values: Iterable[str]) -> list[str]:
    """The IP addresses among ``values``, in canonical form and in order (others dropped)."""
    return [address for value in values if (address := ip_literal(value)) is not None]
