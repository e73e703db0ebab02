"""Label-boundary fingerprint matching and Public Suffix List behaviour."""

from __future__ import annotations

import pytest

from souverain.kb.base import load_kb
from souverain.kb.psl import PublicSuffixList


@pytest.fixture(scope="module")
def psl() -> PublicSuffixList:
    return PublicSuffixList.bundled()


@pytest.mark.parametrize(
    ("host", "suffix", "registrable"),
    [
        ("www.example.co.uk", "co.uk", "example.co.uk"),
        ("x.mail.protection.outlook.com", "com", "outlook.com"),
        ("evilgoogle.com", "com", "evilgoogle.com"),
        ("app.herokuapp.com", "herokuapp.com", "app.herokuapp.com"),  # private section
        ("a.b.kawasaki.jp", "b.kawasaki.jp", "a.b.kawasaki.jp"),  # wildcard rule
        ("city.kawasaki.jp", "kawasaki.jp", "city.kawasaki.jp"),  # exception rule
        ("WWW.Example.FR.", "fr", "example.fr"),
        ("bücher.de", "de", "xn--bcher-kva.de"),
    ],
)
def test_psl(psl, host, suffix, registrable):
    assert psl.public_suffix(host) == suffix
    assert psl.registrable_domain(host) == registrable


def test_psl_snapshot_is_dated(psl):
    assert psl.version.startswith("20")
    assert psl.is_public_suffix("co.uk") and not psl.is_public_suffix("example.co.uk")


def test_label_boundary_matching(mini_kb_dir):
    idx = load_kb(mini_kb_dir).indexes
    assert idx.match_host("x.mail.protection.example-cloud.com").service == "eusub-mail"
    # longest suffix wins: the generic example-cloud.com belongs to another service
    assert idx.match_host("cdn.example-cloud.com").service == "usparent-web"
    assert idx.match_host("example-cloud.com").service == "usparent-web"
    assert idx.match_host("evilexample-cloud.com") is None
    assert idx.match_host("example-cloud.com.evil.test") is None
    assert idx.match_host("MAIL.PROTECTION.EXAMPLE-CLOUD.COM.").service == "eusub-mail"


def test_kind_restriction(mini_kb_dir):
    idx = load_kb(mini_kb_dir).indexes
    assert idx.match_host("a.example-cloud.com", kinds=("mx",)) is None
    assert idx.match_host("a.example-cloud.com", kinds=("cname",)).kind == "cname"


def test_txt_prefix_case_insensitive(mini_kb_dir):
    idx = load_kb(mini_kb_dir).indexes
    assert idx.match_txt('"EUSUB-VERIFY=abc"').service == "eusub-mail"
    assert idx.match_txt("xeusub-verify=abc") is None


def test_host_match_memo_answers_as_the_index_does(mini_kb_dir, monkeypatch):
    """The survey's memo of match_host: same answers, repeated or not, and bounded."""
    from souverain.kb import indexes

    idx = load_kb(mini_kb_dir).indexes
    hosts = ["x.mail.protection.example-cloud.com", "cdn.example-cloud.com", "evilexample-cloud.com",
             "MAIL.PROTECTION.EXAMPLE-CLOUD.COM.", "a.example-cloud.com"]
    for kinds in (None, ("mx",), ("cname",)):  # a tuple, as typed (a compiled index refuses a list)
        for host in hosts * 2:
            plain = idx._match_host(host, kinds)
            assert idx.match_host(host, kinds) == plain
    monkeypatch.setattr(indexes, "_MEMO_SIZE", 3)
    for n in range(10):
        idx.match_host(f"h{n}.example-cloud.com")
    assert len(idx._host_memo) <= 3
    assert idx.match_host("cdn.example-cloud.com").service == "usparent-web"


def test_derived_host_owner_is_indexed():
    kb = load_kb(None)  # the bundled KB: Exchange Online's derived host
    expected = {}
    for service in kb.services.values():
        for template in service.fingerprints.derived_hosts:
            expected.setdefault(template, service.id)
    assert expected and kb.indexes.derived == expected


def test_txt_tokens_found_by_their_first_characters_as_by_a_full_scan():
    """match_txt looks in one bucket; the answer is the full scan's (longest prefix first)."""
    from souverain.kb.base import load_kb
    from souverain.kb.indexes import Indexes, Match

    idx = load_kb().indexes

    def scan(value: str) -> Match | None:
        lowered = value.strip().strip('"').lower()
        return next((Match(s, "txt", p, value) for p, s in idx.txt if lowered.startswith(p)), None)

    values = [prefix + "abc" for prefix, _ in idx.txt] + [f'"{prefix.upper()}x"' for prefix, _ in idx.txt]
    values += ["v=spf1 -all", "", "a", "google-site-verification", "MS=ms12345"]
    assert any(scan(v) for v in values)
    assert [idx.match_txt(v) for v in values] == [scan(v) for v in values]
    # a short prefix shares its bucket with the longer ones that start like it; longest wins
    small = Indexes({}, [("abc=x", "long"), ("abc", "short")], {}, {}, [])
    assert small.match_txt("abc=xyz").service == "long" and small.match_txt("abcd").service == "short"
    assert Indexes({}, [], {}, {}, []).match_txt("anything") is None
