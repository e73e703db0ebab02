"""SPF evaluation rules (RFC 7208) on small record sets answered from a dict."""

from __future__ import annotations

import asyncio

from souverain.collect import dnswire
from souverain.collect.dns import Answer
from souverain.collect.spf import expand_spf


class DictResolver:
    """TXT answers from ``{name: [texts]}``; a missing name is NXDOMAIN, a str value a failure status."""

    def __init__(self, zone: dict[str, list[str] | str]) -> None:
        self.zone = zone
        self.asked: list[str] = []

    def query(self, name: str, rdtype: str) -> asyncio.Future:
        self.asked.append(name)
        future = asyncio.get_running_loop().create_future()
        value = self.zone.get(name)
        if value is None:
            answer = Answer(name, rdtype, "NXDOMAIN")
        elif isinstance(value, str):
            answer = Answer(name, rdtype, value)
        else:
            records = tuple(dnswire.Record(name, "TXT", 300, text) for text in value)
            answer = Answer(name, rdtype, "NOERROR" if records else "NODATA", records)
        future.set_result(answer)
        return future


def expand(zone: dict, domain: str = "d.test"):
    resolver = DictResolver(zone)
    result = asyncio.run(_expand(resolver, domain))
    return result, resolver.asked


async def _expand(resolver, domain):
    return await expand_spf(resolver, domain)


def kinds(result) -> list[tuple[str, str]]:
    return [(e.kind, e.detail) for e in result.errors]


def test_a_duplicate_costs_its_lookups_again_and_can_pass_the_limit():
    # p.test costs 1 + 4 look-ups; named twice directly: 10 look-ups, still within the limit
    zone = {"d.test": ["v=spf1 include:p.test include:p.test -all"],
            "p.test": ["v=spf1 a mx a:x.test mx:x.test ~all"]}
    result, asked = expand(zone)
    assert result.lookups == 10 and result.status == "ok" and result.duplicates == {"p.test": 2}
    assert asked == ["d.test", "p.test"] and result.authorised == [("p.test", "d.test")]
    # a third mention is the 11th look-up: permerror there, and it is not evaluated
    zone["d.test"] = ["v=spf1 include:p.test include:p.test include:p.test -all"]
    result, _ = expand(zone)
    assert result.lookups == 11 and kinds(result) == [("lookup-limit", "include:p.test")]
    assert result.unevaluated == ["p.test"] and result.duplicates == {"p.test": 2}
    # what lies under a repeated include counts too: 6 + 6 look-ups pass the limit inside the repeat
    zone["p.test"] = ["v=spf1 a mx a:x.test mx:x.test ptr ~all"]
    zone["d.test"] = ["v=spf1 include:p.test include:p.test -all"]
    result, _ = expand(zone)
    assert result.lookups == 12 and kinds(result) == [("lookup-limit", "include:p.test")]


def test_redirect_to_a_name_without_spf_is_a_permerror():
    result, _ = expand({"d.test": ["v=spf1 redirect=r.test"], "r.test": ["not spf"]})
    assert kinds(result) == [("no-record", "NOERROR")] and result.void_lookups == 0  # it has TXT: not void
    assert result.errors[0].path == ("d.test", "r.test")


def test_redirect_is_ignored_when_all_is_present():
    result, asked = expand({"d.test": ["v=spf1 -all redirect=r.test"]})
    assert asked == ["d.test"] and result.lookups == 0 and result.status == "ok"


def test_syntax_errors_and_several_records_are_permerrors():
    result, _ = expand({"d.test": ["v=spf1 include: bogus -all"]})
    assert kinds(result) == [("syntax", "include without a domain"), ("syntax", "unknown mechanism 'bogus'")]
    result, _ = expand({"d.test": ["v=spf1 -all", "v=spf1 ~all"]})
    assert kinds(result) == [("multiple-records", "2")]


def test_macro_targets_are_counted_not_followed():
    result, asked = expand({"d.test": ["v=spf1 include:%{ir}.%{v}._spf.d.test exists:%{i}.e.test -all"]})
    assert asked == ["d.test"] and result.lookups == 2 and result.status == "ok" and not result.authorised


def test_a_failing_include_is_a_temperror_and_a_permerror_wins():
    result, _ = expand({"d.test": ["v=spf1 include:t.test -all"], "t.test": "TIMEOUT"})
    assert result.status == "temperror" and result.authorised == [("t.test", "d.test")]
    result, _ = expand({"d.test": ["v=spf1 include:t.test include:gone.test -all"], "t.test": "SERVFAIL"})
    assert result.status == "permerror" and kinds(result) == [("no-record", "NXDOMAIN")]


def test_a_domain_without_spf_is_none():
    result, _ = expand({"d.test": ["google-site-verification=x"]})
    assert result.status == "none" and not result.errors and result.void_lookups == 0


def test_nested_loop_path():
    zone = {"d.test": ["v=spf1 include:a.test -all"], "a.test": ["v=spf1 include:b.test -all"],
            "b.test": ["v=spf1 redirect=a.test"]}
    result, _ = expand(zone)
    assert [(e.kind, e.path) for e in result.errors] == [("loop", ("d.test", "a.test", "b.test", "a.test"))]
    assert result.errors[0].describe() == "d.test -> a.test -> b.test -> a.test"
