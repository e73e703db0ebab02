"""Evidence: what was observed, where, when and by which collector, with the command a person
runs to see it again (``dig``, ``curl``). Dependencies cite evidence by id (``e12``); ids are
numbered in the order a domain's evidence was collected, by one allocator (``next_id``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, NamedTuple, Protocol, TypeAlias

from souverain.model import recheck
from souverain.model.base import JSONSchema, Model

EvidenceSource = Literal["dns", "web", "tls", "browser", "file", "kb", "rdap"]  # file: an inventory souverain read;
# kb: a fact the knowledge base holds about the name (its TLD's registry); rdap: a registration data answer
# what became of a request the page made (``collect.page_run.OUTCOMES`` says each in words)
RequestOutcome = Literal["loaded", "refused", "blocked", "failed", "canceled", "no-response"]


def next_id(count: int) -> str:
    """The id of the evidence item that follows ``count`` items of a domain (``e1``, ``e2``...)."""
    return f"e{count + 1}"


def id_number(evidence_id: str) -> int:
    """The position an id stands for (0 for anything that is not an allocated id)."""
    return int(evidence_id[1:]) if evidence_id[1:].isdigit() else 0


class Record(NamedTuple):
    """One resource record of a DNS answer (a tuple: there are millions in a survey)."""

    name: str
    rdtype: str
    ttl: int
    value: str  # presentation form: "10 mx.example.com", "v=spf1 ...", "192.0.2.1"

    @property
    def type(self) -> str:
        return self.rdtype

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.rdtype, "ttl": self.ttl, "value": self.value}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Read back from the JSON form, whose ``type`` is ``rdtype`` (``model.load``)."""
        from pydantic_core import core_schema

        def from_json(value: Any) -> Any:
            if isinstance(value, dict) and "type" in value:
                value = {("rdtype" if key == "type" else key): item for key, item in value.items()}
            return value

        return core_schema.no_info_before_validator_function(from_json, handler(source))

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> JSONSchema:
        return {"title": "Record", "description": "One resource record of a DNS answer.",
                "type": "object", "additionalProperties": False,
                "required": ["name", "type", "ttl", "value"],
                "properties": {"name": {"type": "string"}, "type": {"type": "string"},
                               "ttl": {"type": "integer"}, "value": {"type": "string"}}}


@dataclasses.dataclass(frozen=True, slots=True)
class RequestRecord(Model):
    """One request (or, past the request cap, one connection) the browser saw the page make."""

    name: str  # the URL, or host:port for a connection
    type: str  # script, stylesheet, font, image, iframe, xhr, fetch... or "connection"
    value: str  # what became of it and what asked for it
    outcome: RequestOutcome
    ttl: None = None  # the shape of a DNS record's JSON, which has a TTL

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "ttl": None, "value": self.value,
                "outcome": self.outcome}


@dataclasses.dataclass(frozen=True, slots=True)
class Evidence(Model):
    """One observation: a DNS answer, an HTTP(S) fetch, or what a page did in the browser."""

    COMPUTED: ClassVar[Mapping[str, JSONSchema]] = {
        "recheck": {"anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "the command line that shows the same thing again"},
    }

    id: str
    source: EvidenceSource
    # mx, a, aaaa, cname, txt, spf, dmarc, dkim, autodiscover, mta-sts, ns, soa, caa, derived, http,
    # page-load, requests...
    kind: str
    subject: str  # the queried name, the URL, or the host the page contacted
    status: str  # NOERROR, NXDOMAIN, TIMEOUT... (DNS); ok, error (web); outcomes (browser)
    records: tuple[Record | RequestRecord, ...] = ()
    resolver: str | None = None
    at: str | None = None
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def recheck_argv(self) -> list[str] | None:
        """The command a person runs to see the same thing, as its arguments."""
        if self.source == "web":
            return recheck.curl_argv(self.subject)
        if self.source == "rdap":
            url = self.detail.get("url")
            return recheck.curl_argv(url) if url else None
        if self.source == "browser":
            url = self.detail.get("url")
            return recheck.curl_argv(url) if url else None
        if self.source == "file":
            return recheck.file_argv(self.detail.get("file", ""), self.detail.get("line"), self.detail.get("pointer"))
        if self.source != "dns" or not self.resolver:
            return None
        rdtype = self.detail.get("rdtype", self.kind.upper())
        return recheck.dig_argv(self.resolver, self.subject, rdtype)

    def recheck(self) -> str | None:
        """The command line to paste into a shell (every argument quoted)."""
        return recheck.command_line(self.recheck_argv())


class Answered(Protocol):
    """What ``dns_evidence`` reads of a DNS answer (``collect.dns.Answer``; the model does not import it)."""

    @property
    def name(self) -> str: ...
    @property
    def rdtype(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def records(self) -> tuple[Record, ...]: ...
    @property
    def resolver(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def tcp(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


# A DNS answer kept as it came, with its evidence kind and what later steps added to its detail:
# the ``Evidence`` is built only when someone reads it (a survey row reads none, a scan all).
PendingAnswer: TypeAlias = tuple[Answered, str, Mapping[str, Any] | None]


def dns_evidence(evidence_id: str, answer: Answered, kind: str, notes: Mapping[str, Any] | None = None) -> Evidence:
    """The evidence item of a DNS answer; ``notes``: what later steps added to its detail."""
    detail: dict[str, Any] = {"rdtype": answer.rdtype}
    if answer.error:
        detail["error"] = answer.error
    if answer.tcp:
        detail["tcp"] = True
    if notes:
        detail.update(notes)
    return Evidence(evidence_id, "dns", kind, answer.name, answer.status, tuple(answer.records),
                    answer.resolver, answer.at, detail)


def expanded(number: int, entry: Evidence | PendingAnswer) -> Evidence:
    """The evidence item an entry stands for; ``number``: its position, from 1 (its id)."""
    if isinstance(entry, Evidence):
        return entry
    answer, kind, notes = entry
    return dns_evidence(next_id(number - 1), answer, kind, notes)
