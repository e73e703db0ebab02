"""A survey row: the flat summary stored per domain of a population run (``store.surveys``) and
exported as JSONL, CSV or Parquet. One status/service/controller/country/foreign/tier group of
columns per key function (``mail``, ``dns``, ``web``) and for the domain's ``registry`` and
``registrar`` when the run asked for them (``--functions registry,registrar``; their ``service``
column holds the registry's or registrar's name), the foreign laws of the key functions, and the
dependencies in a compact form; the input row's other columns come back as ``attr_<name>``.

``souverain schema survey-row`` prints the JSON Schema of one JSONL line.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Literal

from souverain.model.base import JSONSchema, Model
from souverain.model.dependency import Confidence, Status, Tier
from souverain.model.scan import Verdict

ATTRIBUTE_PREFIX = "attr_"


@dataclasses.dataclass(frozen=True, slots=True)
class CompactDependency(Model):
    """A dependency as a survey keeps it: ids, not names (the KB has the names)."""

    function: str
    status: Status
    confidence: Confidence
    tier: Tier
    service: str | None
    controller: str | None
    country: str | None
    laws: tuple[str, ...]  # the foreign laws that reach it
    reason: str
    subject: str | None

    def as_dict(self) -> dict[str, Any]:  # by hand: a survey writes millions
        return {"function": self.function, "status": self.status, "confidence": self.confidence,
                "tier": self.tier, "service": self.service, "controller": self.controller, "country": self.country,
                "laws": list(self.laws), "reason": self.reason, "subject": self.subject}


@dataclasses.dataclass(frozen=True, slots=True)
class SurveyRow(Model):
    """One domain of a survey run."""

    domain: str
    status: Literal["ok", "unknown"]  # unknown: the domain could not be scanned (reason says why)
    reason: str | None
    verdict: Verdict | None
    foreign_laws: str | None  # law ids, space-separated
    mail_status: str | None = None
    mail_service: str | None = None
    mail_controller: str | None = None
    mail_country: str | None = None
    mail_foreign: bool | None = None
    mail_tier: Tier | None = None
    dns_status: str | None = None
    dns_service: str | None = None
    dns_controller: str | None = None
    dns_country: str | None = None
    dns_foreign: bool | None = None
    dns_tier: Tier | None = None
    web_status: str | None = None
    web_service: str | None = None
    web_controller: str | None = None
    web_country: str | None = None
    web_foreign: bool | None = None
    web_tier: Tier | None = None
    registry_status: str | None = None
    registry_service: str | None = None  # the registry (operator) name: it has no KB service
    registry_controller: str | None = None
    registry_country: str | None = None
    registry_foreign: bool | None = None
    registry_tier: Tier | None = None
    registrar_status: str | None = None
    registrar_service: str | None = None  # the registrar (operator) name: it has no KB service
    registrar_controller: str | None = None
    registrar_country: str | None = None
    registrar_foreign: bool | None = None
    registrar_tier: Tier | None = None
    finished: str = ""
    # the input row's other columns
    attrs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    dependencies: tuple[CompactDependency, ...] = ()

    def flat(self) -> dict[str, Any]:
        """The columns and the input attributes (``attr_<name>``): a CSV or Parquet row."""
        out = {name: getattr(self, name) for name in COLUMNS}
        out.update({f"{ATTRIBUTE_PREFIX}{key}": value for key, value in self.attrs.items()})
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSONL line: the flat row and the dependencies."""
        out = self.flat()
        out["dependencies"] = [dep.as_dict() for dep in self.dependencies]
        return out

    def record(self, registration: bool = True) -> dict[str, Any]:
        """The stored columns (dependencies as compact JSON; attributes stay with the targets);
        without ``registration``, not the registry/registrar ones (left NULL: a run that did not
        ask for these functions binds no more columns than before they existed)."""
        out = {name: getattr(self, name) for name in (COLUMNS if registration else _UNREGISTERED)}
        deps = [dep.as_dict() for dep in self.dependencies]
        out["dependencies"] = json.dumps(deps, ensure_ascii=False,
                                         separators=(",", ":"))
        return out

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> SurveyRow:
        """A row read back from the store (``attrs`` joined from its target)."""
        deps = json.loads(data["dependencies"]) if data.get("dependencies") else []
        columns: dict[str, Any] = {name: data.get(name) for name in COLUMNS}
        return cls(**columns,
                   attrs=data.get("attrs") or {},
                   dependencies=tuple(CompactDependency(**{**dep, "laws": tuple(dep["laws"]),
                                                           "tier": dep.get("tier") or _old_tier(dep)})
                                      for dep in deps))

    @classmethod
    def adjust_schema(cls, schema: JSONSchema) -> None:
        properties = schema["properties"]
        del properties["attrs"]
        schema["required"] = [name for name in schema["required"] if name != "attrs"]
        schema["patternProperties"] = {f"^{ATTRIBUTE_PREFIX}": {"type": "string"}}


def _old_tier(dep: Mapping[str, Any]) -> Tier:
    """The tier of a dependency stored before tiers existed (registration-only answers did not exist)."""
    return "unknown" if dep["status"] == "unknown" else "verified"


COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(SurveyRow)
                                 if field.name not in ("attrs", "dependencies"))
REGISTRATION_COLUMNS = tuple(name for name in COLUMNS if name.startswith(("registry_", "registrar_")))
_UNREGISTERED = tuple(name for name in COLUMNS if name not in REGISTRATION_COLUMNS)
