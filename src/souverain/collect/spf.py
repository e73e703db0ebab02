"""SPF (RFC 7208): parse records and expand ``include:``/``redirect=`` recursively within limits.

``parse_spf`` is pure; ``expand_spf`` queries. Limits enforced as the RFC says: at most 10
DNS-querying terms (include, a, mx, ptr, exists, redirect), at most 2 void look-ups, loop
detection. Going over a limit is recorded (``permerror``) but what was seen so far is kept,
because it is still evidence of which services the domain authorises.
"""

from __future__ import annotations

import dataclasses

from souverain.collect.dns import Answer, Resolver

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
_QUERYING = ("include", "a", "mx", "ptr", "exists", "redirect")


@dataclasses.dataclass(frozen=True)
class Term:
    qualifier: str
    mechanism: str  # include, a, mx, ip4, ip6, ptr, exists, all, redirect, exp, unknown
    value: str


@dataclasses.dataclass
class SPFRecord:
    text: str
    terms: list[Term]
    errors: list[str]

    @property
    def includes(self) -> list[str]:
        return [t.value for t in self.terms if t.mechanism == "include" and t.value]

    @property
    def redirect(self) -> str | None:
        return next((t.value for t in self.terms if t.mechanism == "redirect"), None)


def is_spf(txt: str) -> bool:
    lowered = txt.strip().lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def parse_spf(text: str) -> SPFRecord:
    terms: list[Term] = []
    errors: list[str] = []
    for token in text.split()[1:]:
        qualifier = "+"
        if token[0] in "+-~?":
            qualifier, token = token[0], token[1:]
        if "=" in token and ":" not in token.split("=", 1)[0]:
            name, value = token.split("=", 1)
            mechanism = name.lower() if name.lower() in ("redirect", "exp") else "unknown-modifier"
            terms.append(Term(qualifier, mechanism, value.lower().rstrip(".")))
            continue
        name, _, value = token.partition(":")
        name = name.split("/", 1)[0].lower()
        if name not in ("include", "a", "mx", "ip4", "ip6", "ptr", "exists", "all"):
            errors.append(f"unknown mechanism {token!r}")
            name = "unknown"
        if name in ("include", "exists") and not value:
            errors.append(f"{name} without a domain")
        terms.append(Term(qualifier, name, value.lower().rstrip(".")))
    return SPFRecord(text, terms, errors)


@dataclasses.dataclass
class SPFExpansion:
    domain: str
    records: dict[str, str]  # domain -> SPF text, in the order visited
    authorised: list[tuple[str, str]]  # (domain named by include/redirect, parent domain)
    ip_ranges: list[tuple[str, str]]  # (ip4/ip6 value, domain whose record lists it)
    lookups: int
    void_lookups: int
    status: str  # pass-through status: ok, none, permerror, temperror
    problems: list[str]
    answers: list[Answer]


async def expand_spf(resolver: Resolver, domain: str, first: Answer | None = None) -> SPFExpansion:
    """Follow include/redirect from ``domain``'s SPF record, within the RFC 7208 limits."""
    result = SPFExpansion(domain, {}, [], [], 0, 0, "none", [], [])

    async def visit(name: str, parent: str | None, ancestors: frozenset[str], answer: Answer | None = None) -> None:
        if name in ancestors:
            result.problems.append(f"loop: {name} includes itself through {parent}")
            result.status = "permerror"
            return
        ancestors = ancestors | {name}
        if answer is None:
            answer = await resolver.query(name, "TXT")
        result.answers.append(answer)
        if answer.failed:
            result.problems.append(f"{name} TXT: {answer.status}")
            if result.status != "permerror":
                result.status = "temperror"
            return
        spf = [v for v in answer.values("TXT") if is_spf(v)]
        if not spf:
            if parent is not None:
                result.void_lookups += 1
                result.problems.append(f"{name} has no SPF record (void look-up)")
                if result.void_lookups > VOID_LIMIT:
                    result.status = "permerror"
            return
        if len(spf) > 1:
            result.problems.append(f"{name} has {len(spf)} SPF records")
            result.status = "permerror"
        record = parse_spf(spf[0])
        result.records[name] = record.text
        result.problems.extend(f"{name}: {e}" for e in record.errors)
        if result.status == "none":
            result.status = "ok"
        for term in record.terms:
            if term.mechanism in ("ip4", "ip6"):
                result.ip_ranges.append((term.value, name))
            if term.mechanism not in _QUERYING:
                continue
            if term.mechanism == "redirect" and any(t.mechanism == "all" for t in record.terms):
                continue  # RFC 7208 §6.1: redirect is ignored when "all" is present
            result.lookups += 1
            follows = term.mechanism in ("include", "redirect") and bool(term.value)
            if follows:
                result.authorised.append((term.value, name))
            if result.lookups > LOOKUP_LIMIT:
                if not any("DNS look-ups" in p for p in result.problems):
                    result.problems.append(f"more than {LOOKUP_LIMIT} DNS look-ups: the rest is not followed")
                result.status = "permerror"
                continue
            if follows:
                await visit(term.value, name, ancestors)

    await visit(domain, None, frozenset(), first)
    return result
