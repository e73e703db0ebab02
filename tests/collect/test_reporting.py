"""DMARC and TLS-RPT report destinations parsed from hostile or sloppy records."""

from __future__ import annotations

from souverain.collect.reporting import (
    MAX_DESTINATIONS,
    authorisation_name,
    dmarc_destinations,
    external,
    tags,
    tlsrpt_destinations,
)


def test_dmarc_aggregate_and_failure_destinations():
    found = dmarc_destinations("v=DMARC1; p=reject; RUA = mailto:agg@Rua.Example.NET!10m, mailto:x@own.test ;"
                               " ruf=mailto:f%40ruf.example.org@Ruf.Example.org.")
    assert [(d.kind, d.host) for d in found] == [
        ("dmarc-aggregate", "rua.example.net"), ("dmarc-aggregate", "own.test"), ("dmarc-failure", "ruf.example.org")]
    assert found[0].uri == "mailto:agg@Rua.Example.NET"  # size limit dropped, text kept as published


def test_first_tag_wins_and_unknown_schemes_are_problems():
    assert tags("v=DMARC1; rua=mailto:a@one.test; rua=mailto:b@two.test")["rua"] == "mailto:a@one.test"
    (bad,) = dmarc_destinations("v=DMARC1; rua=https://collector.example.com/")
    assert bad.host is None and "scheme" in bad.problem
    (junk,) = dmarc_destinations("v=DMARC1; rua=mailto:nobody@<script>.test")
    assert junk.host is None and junk.problem


def test_tlsrpt_accepts_mailto_and_https():
    found = tlsrpt_destinations("v=TLSRPTv1; rua=mailto:tls@reports.example.com,https://tls.example.org/v1/")
    assert [d.host for d in found] == ["reports.example.com", "tls.example.org"]


def test_destination_count_is_bounded():
    record = "v=DMARC1; rua=" + ",".join(f"mailto:r@h{i}.test" for i in range(50))
    assert len(dmarc_destinations(record)) == MAX_DESTINATIONS


def test_outside_destinations_and_their_authorisation_name():
    assert external("rua.example.net", "own.test") and not external("dmarc.own.test", "own.test")
    assert not external("own.test", "own.test") and external("notown.test", "own.test")
    assert authorisation_name("own.test", "rua.example.net") == "own.test._report._dmarc.rua.example.net"


def test_destinations_in_the_same_organisation_are_in_house():
    assert not external("dmarc.ville.test", "mairie.ville.test")
    assert external("ville.test.example.com", "ville.test")


def test_a_unicode_mailbox_domain_is_read_in_its_idna_form():
    (found,) = dmarc_destinations("v=DMARC1; rua=mailto:dmarc@Rapports.Bücher.example.")
    assert found.host == "rapports.xn--bcher-kva.example" and found.problem is None
