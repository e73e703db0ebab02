"""Answers files: assess an offer that is not in the KB (a tender response), with clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from souverain.errors import KBValidationError, YAMLFileError
from souverain.kb import yamlio
from souverain.kb.messages import plain
from souverain.kb.problems import Loc, Problem, format_field, line_of
from souverain.kb.schema import Assessment

if TYPE_CHECKING:
    from souverain.kb.base import KnowledgeBase
    from souverain.kb.schema import Framework


def load_answers(path: Path, kb: KnowledgeBase) -> Assessment:
    """Parse and check an answers file; raise KBValidationError with ``path:line: field: problem``."""
    shown = str(path)
    try:
        document = yamlio.read(path)
    except YAMLFileError as exc:  # unreadable, too large, not UTF-8, not YAML, an alias...
        raise KBValidationError([Problem.of_file(shown, exc)], "the answers file") from exc
    lines, data = document.lines, document.data
    if document.duplicates:
        raise KBValidationError([Problem(shown, line, format_field(loc), message)
                                 for loc, line, message in document.duplicates], "the answers file")
    if not isinstance(data, dict):
        raise KBValidationError([Problem(shown, 1, "(file)", "an answers file is a YAML mapping")], "the answers file")
    try:
        assessment = Assessment.model_validate(data)
    except ValidationError as exc:
        raise KBValidationError([Problem(shown, line_of(lines, tuple(e["loc"])), format_field(tuple(e["loc"])), plain(e))
                                 for e in exc.errors()], "the answers file") from exc
    problems = check_references(assessment, kb, shown, lines)
    if problems:
        raise KBValidationError(problems, "the answers file")
    return assessment


def check_references(assessment: Assessment, kb: KnowledgeBase, shown: str, lines: dict) -> list[Problem]:
    problems: list[Problem] = []
    framework = kb.frameworks.get(assessment.framework)
    if framework is None:
        return [Problem(shown, line_of(lines, ("framework",)), "framework", f"unknown framework {assessment.framework!r}")]
    criteria = {c.id: c for o in framework.objectives for c in o.criteria}
    if assessment.provider and assessment.provider not in kb.entities:
        problems.append(Problem(shown, line_of(lines, ("provider",)), "provider",
                                f"unknown entity {assessment.provider!r}"))
    if assessment.provider_entity:
        for i, edge in enumerate(assessment.provider_entity.owners):
            if edge.owner not in kb.entities:
                loc: Loc = ("provider_entity", "owners", i, "owner")
                problems.append(Problem(shown, line_of(lines, loc), format_field(loc), f"unknown entity {edge.owner!r}"))
    for i, item in enumerate(assessment.technology):
        if item.entity not in kb.entities:
            loc = ("technology", i, "entity")
            problems.append(Problem(shown, line_of(lines, loc), format_field(loc), f"unknown entity {item.entity!r}"))
    for criterion_id, answer in assessment.answers.items():
        loc = ("answers", criterion_id)
        criterion = criteria.get(criterion_id)
        if criterion is None:
            problems.append(Problem(shown, line_of(lines, loc), format_field(loc), "unknown criterion"))
        elif answer.option is not None and answer.option not in {o.id for o in criterion.options}:
            choices = ", ".join(o.id for o in criterion.options)
            problems.append(Problem(shown, line_of(lines, (*loc, "option")), format_field((*loc, "option")),
                                    f"unknown option {answer.option!r}; choose one of {choices}"))
        elif answer.kind == "derived" and not criterion.derived:
            problems.append(Problem(shown, line_of(lines, (*loc, "kind")), format_field((*loc, "kind")),
                                    f"{criterion_id} is not computed from the knowledge base: give documented, "
                                    "self-declared or assessor (with a rationale)"))
    for i, claim in enumerate(assessment.claims):
        if claim.criterion and claim.criterion in criteria and claim.option and \
                claim.option not in {o.id for o in criteria[claim.criterion].options}:
            loc = ("claims", i, "option")
            problems.append(Problem(shown, line_of(lines, loc), format_field(loc), f"unknown option {claim.option!r}"))
    return problems


def template(framework: Framework) -> str:
    """A YAML answers file with every criterion, the options as comments, unknown by default."""
    out = [
        "# souverain answers file: fill in `option` for each criterion, with its kind (documented:",
        "# contracts, certifications, technical docs; self-declared: marketing; assessor: your",
        "# judgement, with a one-line `rationale`), a confidence (high, medium, low) and at least one",
        "# source. Leave the option null when public material is silent, and say in `searched` what",
        "# you searched. The estimate counts every answer but unknown; the evidenced floor counts",
        "# unknown and assessor answers as the worst option. Derived criteria are computed from the",
        "# provider's ownership; an answer you give for them is compared as a claim. Criteria",
        "# marked 'technology' are computed from `technology` when it names a provider outside",
        "# the EU/EEA (your answer counts otherwise, and may stay below the computed one).",
        "id: my-offer",
        "name: My offer",
        f"framework: {framework.id}",
        "category: iaas        # iaas, paas, saas, private-cloud, colocation, email, collaboration",
        "# scope: EU regions only   # what the assessment covers (regions, zones, a product line)",
        "# either an entity of the knowledge base ...",
        "# provider: ovhcloud",
        "# ... or the provider described here (owners may reference KB entities):",
        "provider_entity:",
        "  name: Example Cloud SAS",
        "  country: FR",
        "  owners: []          # e.g. [{owner: warburg-pincus, capital_pct: 20, since: 2021-06-30}]",
        "sources:",
        "  - url: https://example.org/tender-response.pdf",
        "    title: Tender response",
        "    retrieved: 2026-11-28",
        "as_of: 2026-11-28",
        "claims: []",
        "# technology the offer runs on, licensed or operated by another company (entity ids of the KB):",
        "technology: []       # e.g. [{entity: vmware, component: hypervisor, dependency: licensed-stack-operated-locally,",
        "                     #        updates_from_provider: true, sources: [...], as_of: 2026-11-28}]",
        "answers:",
    ]
    for objective in framework.objectives:
        out.append(f"  # {objective.id} {objective.name}")
        for criterion in objective.criteria:
            if criterion.derived == "technology":
                note = " (computed from `technology` when a provider is outside the EU/EEA)"
            elif criterion.derived:
                note = " (derived from ownership: your answer is compared as a claim)"
            else:
                note = ""
            out.append(f"  {criterion.id}:   # {criterion.name}{note}")
            for option in criterion.options:
                seal = f"SEAL-{option.seal}" if option.seal is not None else "no SEAL mapping"
                out.append(f"    #   {option.id}: {option.label} ({option.points:g} points, {seal})")
            out.append("    option: null")
            out.append("    kind: self-declared   # documented, self-declared, assessor")
            out.append("    confidence: medium    # high, medium, low")
            out.append("    evidence: null")
            out.append("    rationale: null       # required for assessor: one line, why")
            out.append("    searched: [the tender response]   # required while option is null")
            out.append("    sources: []           # at least one: the documents that say it (unknown: those searched)")
    return "\n".join(out) + "\n"
