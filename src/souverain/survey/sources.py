"""What a survey report rests on: the KB records behind the providers and laws it shows (with
their sources), and the data of the run (input file, knowledge-base version, IP-to-ASN table)."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from souverain.errors import DataError
from souverain.kb.base import KnowledgeBase
from souverain.kb.ipasn import BUNDLED


def ip_table_sources(path: PurePath = BUNDLED) -> list[dict[str, str]]:
    """The packages the bundled IP-to-ASN table was built from, with their dates (its header line)."""
    try:
        with open(path, "rb") as handle:
            meta = json.loads(handle.readline())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the IP-to-ASN table's header ({exc})") from exc
    sources = meta.get("sources") or {"asn": meta.get("source", {})}  # format 1: one source
    return [{"package": str(s.get("package", "")), "version": str(s.get("version", "")),
             "date": str(s.get("date", "")), "licence": str(s.get("licence", ""))} for s in sources.values()]


def _record(kb: KnowledgeBase, kind: str, record_id: str) -> dict[str, Any]:
    record = kb.records[record_id]
    return {"kind": kind, "id": record_id, "name": record.name, "as_of": str(record.as_of),
            "sources": [{"url": str(s.url), "title": s.title, "retrieved": str(s.retrieved),
                         "published": str(s.published) if s.published else None} for s in record.sources]}


def survey_sources(kb: KnowledgeBase, aggregate: dict, run: dict) -> dict[str, Any]:
    """The sources of an aggregated survey (``Aggregate.as_dict``) of ``run`` (a stored run row):
    the services named in its provider tables (found by name, as the aggregate holds names) and
    the laws counted, each with the sources of its KB record; the run's input file name and KB
    version; the IP-to-ASN table bundled with this version (the one reports are read with)."""
    by_name = {service.name: sid for sid, service in kb.services.items()}
    services: dict[str, None] = {}
    laws: dict[str, None] = {}
    for entry in aggregate["functions"].values():
        for shown, _count in entry["providers"]:
            for name in str(shown).split("; "):  # email.reporting joins several services
                if name in by_name:
                    services[by_name[name]] = None
        for law, _count in entry.get("laws", ()):
            if law in kb.records:
                laws[law] = None
    kb_version = str(run.get("kb_version") or "")
    return {
        "input": PurePath(str(run.get("input") or "")).name,
        "kb_version": kb_version,
        "kb_date": kb_version.split("+")[0],
        "ip_table": ip_table_sources(),
        "records": [_record(kb, "services", sid) for sid in services] + [_record(kb, "laws", law) for law in laws],
    }
