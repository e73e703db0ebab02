"""SPF (RFC 7208): parse records and expand ``include:``/``redirect=`` as check_host() would, within its limits.

``parse_spf`` is pure; ``expand_spf`` queries. The whole tree is walked (every branch some sender
address could reach), so the counts are the worst case a receiver meets. Each of these makes
the evaluation a ``permerror``, kept with the path of includes that led to it (``SPFError``):

- ``lookup-limit`` (§4.6.4): more than 10 terms that query DNS (include, a, mx, ptr, exists,
  redirect) in the whole evaluation. Every term counts each time it is met: an include named twice
  costs its own look-up and those under it twice, as a receiver evaluating both would pay. The
  domain it names is queried and listed once (``authorised``), and ``duplicates`` says it was
  named more than once: the look-up count and the collapsed list are both reported.
- ``void-limit`` (§4.6.4): more than 2 look-ups answered NXDOMAIN or with no records. Only the
  names souverain queries (include and redirect targets) are counted: a, mx and exists targets
  are not resolved.
- ``loop``: an include or redirect chain that returns to a domain already on its path (a receiver
  would run into the look-up limit; the loop is the useful diagnosis).
- ``no-record``: an include or redirect target without an SPF record (§5.2, §6.1).
- ``multiple-records`` (§4.5) and ``syntax`` (§4.6: an unknown mechanism, a missing domain).

Terms past the look-up limit are not followed (``unevaluated``); what was seen up to it is kept,
because it is still evidence of which services the domain authorises. A target written with a
macro (``%{i}...``) cannot be expanded without a sender and is not followed.
"""

from __future__ import annotations

import dataclasses
import functools

from souverain.collect.dns import Answer, Questions

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


# the same provider records are read for thousands of domains; the parse is pure and only read
_parsed = functools.lru_cache(maxsize=256)(parse_spf)


@dataclasses.dataclass(frozen=True)
class SPFError:
    """Why an evaluation is a permerror, and where: ``path`` runs from the scanned domain."""

    kind: str  # loop, lookup-limit, void-limit, no-record, multiple-records, syntax
    path: tuple[str, ...]  # to the record holding the term (lookup-limit), else to the name at fault
    # lookup-limit: the term past the limit; void-limit: the void look-up's number; no-record: the
    # DNS status; multiple-records: how many; syntax: the problem
    detail: str = ""

    def describe(self) -> str:
        return " -> ".join(self.path) + (f" ({self.detail})" if self.detail else "")

    def as_dict(self) -> dict:
        return {"kind": self.kind, "path": list(self.path), "detail": self.detail}


@dataclasses.dataclass
class SPFExpansion:
    domain: str
    records: dict[str, str]  # domain -> SPF text, in the order visited
    authorised: list[tuple[str, str]]  # (domain named by include/redirect, parent domain), each domain once
    ip_ranges: list[tuple[str, str]]  # (ip4/ip6 value, domain whose record lists it)
    lookups: int  # DNS-querying terms met, duplicates counted each time (RFC 7208 §4.6.4)
    void_lookups: int
    status: str  # pass-through status: ok, none, permerror, temperror
    problems: list[str]  # the same, as text (and temperror causes)
    answers: list[Answer]
    errors: list[SPFError] = dataclasses.field(default_factory=list)
    duplicates: dict[str, int] = dataclasses.field(default_factory=dict)  # domain -> times named (> 1)
    unevaluated: list[str] = dataclasses.field(default_factory=list)  # named past the look-up limit

    def summary(self) -> dict:
        """What the evaluation found, for the evidence of the domain's SPF record."""
        out: dict = {"status": self.status, "lookups": self.lookups, "lookup_limit": LOOKUP_LIMIT,
                     "void_lookups": self.void_lookups}
        if self.errors:
            out["permerrors"] = [error.as_dict() for error in self.errors]
        if self.duplicates:
            out["duplicates"] = dict(self.duplicates)
        if self.unevaluated:
            out["unevaluated"] = list(self.unevaluated)
        return out


async def expand_spf(resolver: Questions, domain: str, first: Answer | None = None) -> SPFExpansion:
    """Follow include/redirect from ``domain``'s SPF record, within the RFC 7208 limits."""
    result = SPFExpansion(domain, {}, [], [], 0, 0, "none", [], [])
    done: dict[str, tuple[int, int]] = {}  # expanded domain -> (look-ups, void look-ups) under it
    named: set[str] = set()  # include and redirect targets met so far

    def permerror(kind: str, path: tuple[str, ...], detail: str = "") -> None:
        if kind in ("lookup-limit", "void-limit") and any(e.kind == kind for e in result.errors):
            return  # the first time a limit is passed is the diagnosis
        error = SPFError(kind, path, detail)
        result.errors.append(error)
        result.problems.append(f"{kind}: {error.describe()}")
        result.status = "permerror"

    def count(path: tuple[str, ...], term: str, lookups: int = 1, voids: int = 0) -> bool:
        """Add look-ups; False once the evaluation is past the limit (the term is not followed)."""
        result.lookups += lookups
        result.void_lookups += voids
        if voids and result.void_lookups > VOID_LIMIT:
            permerror("void-limit", path, str(result.void_lookups))
        if result.lookups > LOOKUP_LIMIT:
            permerror("lookup-limit", path, term)
            return False
        return True

    async def visit(name: str, path: tuple[str, ...], answer: Answer | None = None) -> None:
        path = (*path, name)
        before = (result.lookups, result.void_lookups)
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
            if len(path) > 1:  # an include or redirect target: the domain itself may have no SPF
                permerror("no-record", path, answer.status)
                if answer.status != "NOERROR" or not answer.records:
                    count(path, "", lookups=0, voids=1)
            done[name] = (result.lookups - before[0], result.void_lookups - before[1])
            return
        if len(spf) > 1:
            permerror("multiple-records", path, str(len(spf)))
        record = _parsed(spf[0])
        result.records[name] = record.text
        for problem in record.errors:
            permerror("syntax", path, problem)
        if result.status == "none":
            result.status = "ok"
        has_all = any(t.mechanism == "all" for t in record.terms)
        for term in record.terms:
            if term.mechanism in ("ip4", "ip6"):
                result.ip_ranges.append((term.value, name))
            if term.mechanism not in _QUERYING:
                continue
            if term.mechanism == "redirect" and has_all:
                continue  # RFC 7208 §6.1: redirect is ignored when "all" is present
            label = f"{term.mechanism}:{term.value}" if term.value else term.mechanism
            follows = term.mechanism in ("include", "redirect") and bool(term.value) and "%" not in term.value
            if not count(path, label):
                if follows:
                    result.unevaluated.append(term.value)
                continue
            if not follows:
                continue
            target = term.value
            if target in path:
                permerror("loop", (*path, target))
            elif target in named:
                result.duplicates[target] = result.duplicates.get(target, 1) + 1
                lookups, voids = done.get(target, (0, 0))  # a receiver evaluates it again
                count(path, label, lookups, voids)
            else:
                named.add(target)
                result.authorised.append((target, name))
                await visit(target, path)
        done[name] = (result.lookups - before[0], result.void_lookups - before[1])

    await visit(domain, (), first)
    return result
