"""SARIF 2.1.0 output for code-scanning consumers: one result per exposed or unknown dependency."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from souverain.report.i18n import Translator
from souverain.report.render import reason_text, recheck_commands

if TYPE_CHECKING:
    from souverain.model.scan import ScanResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
CRITICAL = 4


def scan_sarif(result: ScanResult, t: Translator) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    criticality = {f.function: f.criticality for f in result.summary.functions}
    evidence = {domain: result.evidence_of(domain) for domain in result.evidence}
    for dep in result.dependencies:
        if dep.foreign_laws:
            rule_id = f"foreign-law/{dep.function}"
            level = "error" if criticality.get(dep.function, 1) >= CRITICAL else "warning"
            description = f"{dep.function} is reachable by foreign laws that compel access"
        elif dep.status == "unknown":
            rule_id = f"unknown/{dep.function}"
            level = "note"
            description = f"{dep.function} could not be attributed"
        else:
            continue
        rules.setdefault(rule_id, {
            "id": rule_id,
            "name": rule_id.replace("/", "-").replace(".", "-"),
            "shortDescription": {"text": description},
            "properties": {"tags": ["sovereignty", dep.function]},
        })
        service = dep.service.name if dep.service else "unknown service"
        controller = dep.controller
        message = f"{dep.domain}: {dep.function} -> {service}"
        if controller:
            message += f", controlled by {controller.name} ({controller.country})"
            if dep.tier == "registered":
                message += " (by registration; ownership not researched)"
        if dep.foreign_laws:
            message += f"; laws: {', '.join(dep.foreign_laws)}"
        message += f". {reason_text(dep, t)}"
        results.append({
            "ruleId": rule_id,
            "level": level,
            "message": {"text": message},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": dep.domain, "uriBaseId": "DOMAINS"}},
                "logicalLocations": [{"name": dep.subject or dep.domain, "kind": "resource"}],
            }],
            "partialFingerprints": {"dependency/v1": f"{dep.domain}|{dep.function}|{service}"},
            "properties": {"confidence": dep.confidence, "tier": dep.tier, "status": dep.status,
                           "evidence": list(dep.evidence),
                           "recheck": recheck_commands(result, dep, evidence.get(dep.domain, {}))},
        })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "souverain",
                "version": result.tool.version,
                "rules": list(rules.values()),
            }},
            "originalUriBaseIds": {"DOMAINS": {"uri": "dns:/"}},
            "results": results,
            "properties": {"kb_version": result.kb_version, "verdict": result.summary.verdict,
                           "min_confidence": result.summary.min_confidence,
                           "by_tier": dict(result.summary.counts.by_tier)},
        }],
    }
