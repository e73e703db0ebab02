"""Report destinations: who receives a domain's DMARC (RFC 7489) and SMTP TLS (RFC 8460) reports.

Receivers of the domain's mail send aggregate reports (sending addresses, volumes, results) to
the ``rua`` addresses every day, and DMARC failure reports (``ruf``, which may quote headers and
content) as they happen. A domain without a DMARC record falls under its organisational domain's
(RFC 7489 §6.6.3). A destination outside the organisation only receives DMARC reports when it
publishes ``<domain>._report._dmarc.<destination>`` (RFC 7489 §7.1); TLS-RPT has no such check.
Records are untrusted text: at most ``MAX_DESTINATIONS`` per record, every host name validated.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import urllib.parse

from souverain.kb.hostnames import normalise_host
from souverain.kb.psl import PublicSuffixList

MAX_DESTINATIONS = 10
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")


@dataclasses.dataclass(frozen=True)
class Destination:
    kind: str  # dmarc-aggregate | dmarc-failure | tls-rpt
    uri: str  # as published (without a DMARC size limit)
    host: str | None  # mailbox domain or https host; None when the URI is unusable
    problem: str | None = None


def tags(record: str) -> dict[str, str]:
    """``v=DMARC1; p=none; rua=...`` -> {"v": "DMARC1", ...}; first occurrence of a tag wins."""
    out: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out.setdefault(key.strip().lower(), value.strip())
    return out


def dmarc_destinations(record: str) -> list[Destination]:
    found = tags(record)
    out = [_destination("dmarc-aggregate", uri) for uri in _uris(found.get("rua", ""))]
    out += [_destination("dmarc-failure", uri) for uri in _uris(found.get("ruf", ""))]
    return out[: 2 * MAX_DESTINATIONS]


def tlsrpt_destinations(record: str) -> list[Destination]:
    return [_destination("tls-rpt", uri) for uri in _uris(tags(record).get("rua", ""))]


def external(host: str, domain: str) -> bool:
    """True when reports for ``domain`` leave its organisation (another registrable domain)."""
    if host == domain or host.endswith("." + domain):
        return False
    return organisational_domain(host) != organisational_domain(domain)


@functools.lru_cache(maxsize=4096)  # pure; a survey asks it for the same report hosts again and again
def organisational_domain(host: str) -> str:
    """The registrable domain (public suffix + 1 label, RFC 7489 §3.2), or ``host`` itself."""
    try:
        return PublicSuffixList.bundled().registrable_domain(host) or host
    except ValueError:
        return host


def authorisation_name(domain: str, host: str) -> str:
    """The name a destination publishes to accept DMARC reports for ``domain`` (RFC 7489 §7.1)."""
    return f"{domain}._report._dmarc.{host}"


def _uris(value: str) -> list[str]:
    return [uri.strip() for uri in value.split(",") if uri.strip()][:MAX_DESTINATIONS]


def _destination(kind: str, uri: str) -> Destination:
    text = uri.split("!", 1)[0] if kind != "tls-rpt" else uri  # DMARC's "!10m" size limit
    scheme, _, rest = text.partition(":")
    scheme = scheme.strip().lower()
    if scheme == "mailto":
        address = urllib.parse.unquote(rest).split("?", 1)[0]
        host = address.rpartition("@")[2] if "@" in address else ""
    elif scheme == "https" and kind == "tls-rpt":
        host = urllib.parse.urlsplit(text).hostname or ""
    else:
        return Destination(kind, text, None, f"unsupported report URI scheme {scheme!r}")
    try:
        host = normalise_host(host)
    except ValueError:  # empty, or a label IDNA refuses
        host = ""
    if not _HOST.match(host):
        return Destination(kind, text, None, "no valid host name in the report URI")
    return Destination(kind, text, host)
