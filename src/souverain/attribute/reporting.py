"""email.reporting: who receives the domain's DMARC and TLS-RPT reports (collect.reporting).

A destination inside the domain adds nothing (its mailbox is the inbound mail dependency). An
outside destination is a processor of mail-flow data: identified by the KB's ``report``
fingerprints, else unknown under its host name. A DMARC destination that does not accept reports
for the domain (no ``_report._dmarc`` record) is kept with low confidence: compliant receivers do
not send it anything, but the domain asked them to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from souverain.attribute import dependency
from souverain.collect.reporting import external

if TYPE_CHECKING:
    from souverain.kb.view import KBView
    from souverain.model.dependency import Dependency
    from souverain.model.observation import DomainObservation

FUNCTION = "email.reporting"


def attribute_reporting(view: KBView, obs: DomainObservation) -> list[Dependency]:
    kb = view.kb
    grouped: dict[str, dict] = {}  # service id or unknown host -> what was seen
    for entry in obs.reports:
        host = entry.host
        if not host or not external(host, obs.domain):
            continue
        match = kb.indexes.match_host(host, ("report",))
        key = match.service if match else host
        item = grouped.setdefault(key, {"match": match, "host": host, "kinds": set(), "evidence": [],
                                        "authorised": set()})
        item["kinds"].add(entry.kind)
        item["evidence"] += entry.evidence
        if entry.kind != "tls-rpt":
            item["authorised"].add(entry.authorised)
    deps = []
    for key, item in grouped.items():
        kinds = ", ".join(sorted(item["kinds"]))
        # reports flow for sure to TLS-RPT destinations and to DMARC ones that accept them
        flows = "tls-rpt" in item["kinds"] or True in item["authorised"]
        refused = not flows and item["authorised"] == {False}
        if item["match"] is None:
            deps.append(dependency.build(view, obs.domain, FUNCTION, status="unknown", confidence="low",
                                         reason="report-destination-unknown", subject=item["host"],
                                         evidence=item["evidence"], host=item["host"], kinds=kinds))
            continue
        deps.append(dependency.build(
            view, obs.domain, FUNCTION, status="identified",
            confidence="high" if flows else "low" if refused else "medium",
            reason="report-destination-not-authorised" if refused else "report-processor",
            service_id=key, subject=item["host"], evidence=item["evidence"], match=item["match"],
            host=item["host"], kinds=kinds,
        ))
    return deps
