"""Parse what a user asks about: a KB id, an ASN, an IP address, a URL or a host name."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from souverain.errors import UsageError
from souverain.kb.hostnames import normalise_host

TargetType = Literal["kb-id", "asn", "ip", "url", "host"]
_ASN = re.compile(r"^as(\d{1,10})$", re.IGNORECASE)
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclasses.dataclass(frozen=True)
class Target:
    raw: str
    type: TargetType
    value: str  # normalised: id, ASN digits, address, or host name


def parse_target(raw: str, known_ids: set[str] | frozenset[str] = frozenset()) -> Target:
    text = raw.strip()
    if not text:
        raise UsageError("empty target: give a host name, URL, IP address, ASN (AS16509) or KB id")
    if text in known_ids:
        return Target(raw, "kb-id", text)
    match = _ASN.match(text)
    if match:
        number = int(match.group(1))
        if not 0 < number < 2**32:
            raise UsageError(f"{raw!r}: AS numbers range from 1 to 4294967295")
        return Target(raw, "asn", str(number))
    try:
        return Target(raw, "ip", str(ipaddress.ip_address(text.strip("[]"))))
    except ValueError:
        pass
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"{raw!r}: only http(s) URLs with a host name are understood")
        host = parts.hostname
        try:
            return Target(raw, "ip", str(ipaddress.ip_address(host)))
        except ValueError:
            return Target(raw, "url", validate_host(host, raw))
    return Target(raw, "host", validate_host(text, raw))


def validate_host(host: str, raw: str | None = None) -> str:
    """A syntactically valid DNS name with at least two labels, or UsageError."""
    shown = raw if raw is not None else host
    try:
        name = normalise_host(host)
    except (ValueError, UnicodeError) as exc:
        raise UsageError(f"{shown!r} is not a valid host name: {exc}") from exc
    labels = name.split(".")
    if len(labels) < 2:
        raise UsageError(f"{shown!r} is not a fully qualified domain or host name")
    bad = [label for label in labels if not _LABEL.match(label)]
    if bad:
        raise UsageError(f"{shown!r} is not a valid host name: bad label {bad[0]!r}")
    if labels[-1].isdigit():
        raise UsageError(f"{shown!r} is not a valid host name: the top-level label is numeric")
    return name
