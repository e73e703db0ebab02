"""The assessment's sentences in the reader's language: messages (``model.assessment.Message``)
rendered from the catalogues, CSF framework texts from the KB display names, and KB evidence in
English (rationales, claims, typed evidence, searches) marked as quoted rather than translated.

``localised`` returns a copy of an assessment whose text fields read in the translator's language;
the renderers call it first, so templates and tables keep reading plain fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from souverain.model.assessment import Assessment, CriterionResult, Message, OwnershipResult
    from souverain.report.i18n import Translator


def render(message: Message | Mapping[str, Any], t: Translator) -> str:
    """A message (or its JSON form) as text in ``t``'s language."""
    key, params = (message["key"], message["params"]) if isinstance(message, Mapping) else (message.key, message.params)
    return t(key, **{name: _value(name, value, t) for name, value in params.items()})


def _value(name: str, value: Any, t: Translator) -> Any:
    if name in ("chain", "reach", "path") and isinstance(value, str):  # ownership paths (kb.laws.render_path)
        return t.path(value)
    if name == "laws" and isinstance(value, list | tuple):  # [{"id", "name"}]: display names in the language
        return ", ".join(t.law(law["id"], fallback=law["name"]) for law in value)
    if isinstance(value, Mapping):
        if "key" in value:
            return render(value, t)
        if "quoted" in value:
            return quoted(str(value["quoted"]), t)
        return value.get(t.lang) or value.get("en", "")  # per-language text (framework data)
    if isinstance(value, list | tuple):
        return "; ".join(str(_value("", item, t)) for item in value)
    return value


def quoted(text: str, t: Translator) -> str:
    """KB evidence in English, marked as such in another language: « ... » (en anglais)."""
    return text if t.lang == "en" else t("assess.quoted", text=text)


def quoted_html(text: str | None, t: Translator) -> Markup | None:
    """``quoted`` for HTML: the text in an element marked ``lang="en"`` (escaped)."""
    if not text:
        return None
    marker = "" if t.lang == "en" else " " + t("assess.in_english")
    return Markup('<q lang="en" class="quoted">{}</q>{}').format(text, marker)


def localised(result: Assessment, t: Translator, html: bool = False) -> Assessment:
    """``result`` with its texts in ``t``'s language (names, labels, derivations, §19.6 failures,
    a claimed option's label instead of its id), and its English KB evidence quoted (in HTML,
    inside ``lang="en"`` elements)."""
    # fields the headline lines also print (scope, product) take the plain « » form: markup inside a
    # sentence would be escaped
    def quote(text: str | None) -> str | None:
        if not text:
            return text
        return quoted_html(text, t) if html else quoted(text, t)

    def criterion(item: CriterionResult) -> CriterionResult:
        evidence = render(item.evidence_message, t) if item.evidence_message is not None else quote(item.evidence)
        claimed = t.name("options", f"{item.id}/{item.claimed}", item.claimed) if item.claimed else None
        return dataclasses.replace(
            item, name=t.name("criteria", item.id, item.name), claimed=claimed,
            label=t.name("options", f"{item.id}/{item.option}", item.label), evidence=evidence,
            rationale=quote(item.rationale), searched=searched(item.searched))

    def searched(items: tuple[str, ...]) -> tuple[str, ...]:
        if html and items:  # one element: a join of several would lose the markup
            return (quoted_html("; ".join(items), t) or "",)
        return tuple(quoted(s, t) for s in items)

    csf = result.csf
    criteria = {item.id: criterion(item) for item in csf.criteria}
    csf = dataclasses.replace(
        csf,
        profile=dataclasses.replace(csf.profile, name=t.name("profiles", csf.profile.id, csf.profile.name)),
        objectives=tuple(dataclasses.replace(o, name=t.name("objectives", o.id, o.name)) for o in csf.objectives),
        criteria=tuple(criteria.values()),
        contradictions=tuple(criteria[c.id] for c in csf.contradictions),
        unsupported_claims=tuple(criteria[c.id] for c in csf.unsupported_claims),
    )
    return dataclasses.replace(
        result, csf=csf, secnumcloud_19_6=_ownership(result.secnumcloud_19_6, t),
        offer=dataclasses.replace(result.offer, scope=quoted(result.offer.scope, t) if result.offer.scope else None),
        claims=tuple(dataclasses.replace(c, text=quote(c.text) or c.text) for c in result.claims),
        technology=tuple(dataclasses.replace(
            item, component=t.token("component", item.component), product=quoted(item.product, t) if item.product else None, note=quote(item.note),
            laws=tuple(dataclasses.replace(law, name=t.law(law.id, fallback=law.name)) for law in item.laws))
            for item in result.technology),
    )


def _ownership(snc: OwnershipResult | None, t: Translator) -> OwnershipResult | None:
    if snc is None:
        return None
    failures = tuple(render(m, t) for m in snc.failure_messages) or snc.failures
    unknowns = tuple(render(m, t) for m in snc.unknown_messages) or snc.unknowns
    technology = tuple(dataclasses.replace(row, reason=render(row.reason_message, t)) if row.reason_message else row
                       for row in snc.technology)
    return dataclasses.replace(snc, failures=failures, unknowns=unknowns, technology=technology)
