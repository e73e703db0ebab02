"""``souverain assess`` and ``souverain compare``: CSF SEAL and score, §19.6, claims versus facts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from souverain.cli.options import (
    at_option,
    display_names,
    emit,
    format_option,
    handle_errors,
    lang_option,
    output_option,
    to_json,
    wide_option,
)
from souverain.errors import UsageError
from souverain.report.assessment import required_text
from souverain.report.i18n import Translator
from souverain.report.terminal import terminal_width

PROFILES = ("csf-2025", "csf-2026")


def parse_min_seal(text: str | None) -> int | dict[str, int] | None:
    if text is None:
        return None
    if re.fullmatch(r"[0-4]", text.strip()):
        return int(text)
    levels: dict[str, int] = {}
    for part in text.split(","):
        match = re.fullmatch(r"\s*(SOV-[1-8])\s*=\s*([0-4])\s*", part, flags=re.IGNORECASE)
        if not match:
            raise UsageError(f"--min-seal {text!r}: give a level 0-4 or SOV-n=LEVEL pairs, e.g. SOV-2=3,SOV-3=2")
        levels[match.group(1).upper()] = int(match.group(2))
    return levels


def _load(kb, offer: str | None, answers: Path | None):
    from souverain.assess.answers import load_answers

    if answers is not None:
        return load_answers(answers, kb)
    if kb.kinds.get(offer or "") == "entities":  # a provider: only the derived criteria are known
        from souverain.kb.schema import Assessment

        entity = kb.entities[offer]
        return Assessment(id=entity.id, name=entity.name, provider=entity.id, category="provider",
                          sources=entity.sources, as_of=entity.as_of)
    record = kb.records.get(offer or "")
    if record is None or kb.kinds.get(offer) != "assessments":
        known = ", ".join(sorted(kb.assessments)[:12])
        raise UsageError(f"no assessment {offer!r} in the knowledge base (e.g. {known}...); "
                         "see `souverain kb list --kind assessments`, or give --answers FILE")
    return record


def assessment_options(func):
    """The options `assess` and `compare` share."""
    for option in reversed((
        click.option("--profile", type=click.Choice(PROFILES), default="csf-2026", show_default=True,
                     help="Weight profile: csf-2025 (v1.2.1 document) or csf-2026 (Commission calculator)."),
        click.option("--min-seal", metavar="N|SOV-n=N,...",
                     help="Minimum SEAL gate, global or per objective (exit 3 when an offer does not meet it)."),
        click.option("--gate", "basis", type=click.Choice(("floor", "estimate")), default="floor", show_default=True,
                     help="What --min-seal gates on: the evidenced floor (unknown and assessor answers at worst) "
                          "or the estimate (every answer but unknown)."),
        at_option,
        format_option("table", "json", "html"),
        output_option,
        wide_option,
        lang_option,
    )):
        func = option(func)
    return handle_errors(func)


@click.command("assess")
@click.argument("offer", required=False)
@click.option("--answers", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Assess the offer described by this answers file (see --template).")
@click.option("--template", "print_template", is_flag=True, help="Print an answers-file template and exit.")
@assessment_options
def assess_command(offer, answers, print_template, profile, min_seal, basis, at, fmt, output, wide, lang) -> None:
    """Assess OFFER against the EU Cloud Sovereignty Framework and SecNumCloud §19.6.

    OFFER is a KB assessment id, or an entity id (then only the criteria derived from ownership
    and laws are known; every other answer is unknown). Two figures: the estimate (every answer
    but unknown, with the count of assessor judgements) and the evidenced floor (unknown and
    assessor answers at the worst option).
    """
    from souverain.assess.answers import template
    from souverain.assess.offer import assess_offer
    from souverain.kb.base import load_kb
    from souverain.report.assessment import assessment_html, assessment_table

    kb = load_kb()
    if print_template:
        emit(template(kb.frameworks["eu-csf"]), output)
        return
    if (offer is None) == (answers is None):
        raise UsageError("give an OFFER id or --answers FILE (or --template)")
    minimum = parse_min_seal(min_seal)
    result = assess_offer(kb, _load(kb, offer, answers), at, profile, minimum, basis)
    if fmt == "json":
        emit(to_json(result.as_dict()), output)
    elif fmt == "html":
        emit(assessment_html([result], lang, display_names()), output)
    else:
        emit(assessment_table(result, lang, display_names(), terminal_width(wide)), output)
    if result.csf.gate.passed is False:
        sys.exit(3)


@click.command("compare")
@click.argument("offers", nargs=-1, required=True)
@assessment_options
def compare_command(offers, profile, min_seal, basis, at, fmt, output, wide, lang) -> None:
    """Compare offers side by side (SEAL per objective, score, §19.6, laws)."""
    from souverain.assess.offer import assess_offer
    from souverain.kb.base import load_kb
    from souverain.report.assessment import assessment_html, comparison_table

    kb = load_kb()
    minimum = parse_min_seal(min_seal)
    results = [assess_offer(kb, _load(kb, offer, None), at, profile, minimum, basis) for offer in offers]
    if fmt == "json":
        emit(to_json({"profile": profile, "offers": [result.as_dict() for result in results]}), output)
    elif fmt == "html":
        emit(assessment_html(results, lang, display_names()), output)
    else:
        emit(comparison_table(results, lang, display_names(), terminal_width(wide)), output)
    failed = [r for r in results if r.csf.gate.passed is False]
    if failed:  # like assess: exit 3, and say which offers fall short (stderr: stdout keeps the data)
        t = Translator(lang)
        for result in failed:
            gate = result.csf.gate
            click.echo(t("compare.gate_fail", offer=result.offer.name, required=required_text(gate.required),
                         failing=", ".join(gate.failing) or "-", basis=t(f"assess.basis_{gate.basis}")), err=True)
        sys.exit(3)


