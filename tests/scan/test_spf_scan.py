"""SPF evaluated as RFC 7208 says, on the loopback test world: limits, loops, duplicates, own names.

Each broken record is a ``permerror`` with the path of includes that broke it, on the evidence
of the domain's TXT record and as a notice in the report; the domain's own names are never
reported as unknown senders.
"""

from __future__ import annotations

import pytest
import yaml

from souverain.report.i18n import MESSAGES
from souverain.report.render import render_scan
from tests.scan.conftest import deps, one

DOMAINS = ("loop.test", "spf50.test", "spfvoid.test", "spfdup.test", "spfown.test", "m365.test")


@pytest.fixture(scope="module")
def result(scan_world):
    return scan_world(*DOMAINS)


def spf(result: dict, domain: str) -> dict:
    """The SPF evaluation recorded on the evidence of the domain's TXT record."""
    return next(e for e in result["evidence"][domain] if e["subject"] == domain and e["detail"].get("rdtype") == "TXT"
                and e["kind"] == "txt")["detail"]["spf"]


def notices(result: dict, domain: str) -> list[dict]:
    return [n for n in result["notices"] if n["domain"] == domain]


def unknown_senders(result: dict, domain: str) -> list[str]:
    return [d["subject"] for d in deps(result, domain, "email.sending") if d["status"] == "unknown"]


def test_include_loop_is_a_permerror_with_its_path(result):
    evaluation = spf(result, "loop.test")
    assert evaluation["status"] == "permerror"
    assert evaluation["permerrors"] == [{"kind": "loop", "path": ["loop.test", "s1.loop.test", "s2.loop.test",
                                                                   "s1.loop.test"], "detail": ""}]
    notice = one_notice(result, "loop.test", "spf-loop")
    assert notice["params"]["path"] == "loop.test -> s1.loop.test -> s2.loop.test -> s1.loop.test"
    assert notice["evidence"], "the notice cites the TXT record it is about"
    assert unknown_senders(result, "loop.test") == [], "the loop's own names are not senders"


def one_notice(result: dict, domain: str, notice_id: str) -> dict:
    found = [n for n in notices(result, domain) if n["id"] == notice_id]
    assert len(found) == 1, notices(result, domain)
    return found[0]


def test_fifty_includes_stop_at_the_lookup_limit(result):
    evaluation = spf(result, "spf50.test")
    assert evaluation["status"] == "permerror" and evaluation["lookups"] == 50
    assert evaluation["permerrors"] == [{"kind": "lookup-limit", "path": ["spf50.test"],
                                         "detail": "include:s10.bulk-sender.test"}]
    assert evaluation["unevaluated"] == [f"s{i}.bulk-sender.test" for i in range(10, 50)]
    # the 10 includes a receiver evaluates are queried, the 40 past the limit are not
    queried = {e["subject"] for e in result["evidence"]["spf50.test"] if e["kind"] == "spf"}
    assert queried == {f"s{i}.bulk-sender.test" for i in range(10)}
    assert sorted(unknown_senders(result, "spf50.test")) == sorted(f"s{i}.bulk-sender.test" for i in range(10))
    notice = one_notice(result, "spf50.test", "spf-lookup-limit")
    assert notice["level"] == "error" and notice["params"]["lookups"] == 50


def test_three_void_lookups(result):
    evaluation = spf(result, "spfvoid.test")
    kinds = [(e["kind"], e["path"][-1], e["detail"]) for e in evaluation["permerrors"]]
    assert kinds == [("no-record", "gone1.spfvoid.test", "NXDOMAIN"), ("no-record", "gone2.spfvoid.test", "NXDOMAIN"),
                     ("no-record", "gone3.spfvoid.test", "NXDOMAIN"), ("void-limit", "gone3.spfvoid.test", "3")]
    assert evaluation["void_lookups"] == 3 and evaluation["status"] == "permerror"
    void = one_notice(result, "spfvoid.test", "spf-void-limit")
    assert void["params"]["path"] == "spfvoid.test -> gone3.spfvoid.test"
    # the include after the void ones is still read: it names the sending service
    assert {(d["service"] or {}).get("id") for d in deps(result, "spfvoid.test", "email.sending")} == {"exchange-online"}
    assert unknown_senders(result, "spfvoid.test") == []


def test_duplicate_includes_are_listed_once_and_counted_each_time(result):
    evaluation = spf(result, "spfdup.test")
    assert evaluation["status"] == "ok" and "permerrors" not in evaluation
    assert evaluation["duplicates"] == {"spf.protection.outlook.com": 3}
    assert evaluation["lookups"] == 4  # three mentions of the same include, and _spf.spfdup.test
    sending = deps(result, "spfdup.test", "email.sending")
    assert [(d["service"] or {}).get("id") for d in sending] == ["exchange-online"]
    duplicates = one_notice(result, "spfdup.test", "spf-duplicates")
    assert duplicates["level"] == "warning" and "spf.protection.outlook.com (x3)" in duplicates["params"]["names"]


def test_own_names_are_not_unknown_senders(result):
    assert unknown_senders(result, "spfown.test") == []
    sending = {(d["service"] or {}).get("id"): d for d in deps(result, "spfown.test", "email.sending")}
    assert sending["exchange-online"]["status"] == "identified"
    # the addresses the domain's own SPF names are the domain's: attributed to their network
    assert sending["ovhcloud-network"]["reason"] == "sending-network"
    assert not notices(result, "spfown.test") and spf(result, "spfown.test")["status"] == "ok"


def test_a_sound_record_has_no_notice(result):
    assert not notices(result, "m365.test") and spf(result, "m365.test") == {
        "status": "ok", "lookups": 1, "lookup_limit": 10, "void_lookups": 0}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_permerrors_are_shown_in_the_table_and_html(result, lang):
    table = " ".join(render_scan(result.model, "table", lang).split())  # notices wrap at the terminal width
    assert "loop.test -> s1.loop.test -> s2.loop.test -> s1.loop.test" in table
    assert "include:s10.bulk-sender.test" in table and "RFC 7208 §4.6.4" in table
    html = render_scan(result.model, "html", lang)
    assert "spfvoid.test -&gt; gone3.spfvoid.test" in html


def test_every_spf_error_kind_has_a_message():
    catalogue = yaml.safe_load((MESSAGES / "en.yaml").read_text(encoding="utf-8"))
    kinds = ("loop", "lookup-limit", "void-limit", "no-record", "multiple-records", "syntax")
    assert all(f"notice.spf-{kind}" in catalogue for kind in kinds)
    assert {"notice.spf-duplicates", "notice.domain-nxdomain", "notice.resolver-silent"} <= set(catalogue)


def test_manyspf_stops_after_ten_lookups(scan_world):
    """12 includes of the domain's own names: the 11th and 12th are a permerror, not followed."""
    result = scan_world("manyspf.test")
    evaluation = spf(result, "manyspf.test")
    assert evaluation["lookups"] == 12 and evaluation["unevaluated"] == ["i10.manyspf.test", "i11.manyspf.test"]
    assert unknown_senders(result, "manyspf.test") == []
    assert one(result, "manyspf.test", "email.inbound")["status"] == "self-managed"
