"""Re-check command builders: each argument reaches dig or curl as the program needs it."""

from __future__ import annotations

import shlex

import pytest

from souverain.collect.domain import Evidence
from souverain.collect.recheck import command_line, curl_argv, dig_argv


@pytest.mark.parametrize(("name", "argument"), [
    ("a&id&b.inject.test", "a&id&b.inject.test"),
    ("-f.inject.test", r"\045f.inject.test"),  # dig would read an option
    ("+short.inject.test", r"\043short.inject.test"),
    ("@evil.example", r"\064evil.example"),  # dig would read a server to ask
    ("mx", "mx."),  # dig would read a type
    ("", "."),
    (r"sp\032ace.test", r"sp\032ace.test"),  # already in presentation format
])
def test_dig_names(name, argument):
    argv = dig_argv("127.0.0.1:5353", name, "A")
    assert argv == ["dig", "@127.0.0.1", "-p", "5353", argument, "A"]
    assert shlex.split(command_line(argv)) == argv


def test_dig_default_port_and_ipv6_server():
    assert dig_argv("[::1]:53", "x.test", "NS") == ["dig", "@::1", "x.test", "NS"]


def test_leading_equals_is_quoted_for_zsh():
    assert command_line(["dig", "=1+2.test"]) == "dig '=1+2.test'"


def test_curl_urls_are_not_globbed_and_keep_one_line():
    argv = curl_argv("https://x.test/a b\n?q=$(id)&r=`id`;s|t{1,2}[1-9]")
    assert argv == ["curl", "-sv", "--globoff", "https://x.test/a%20b%0A?q=$(id)&r=`id`;s|t{1,2}[1-9]"]
    line = command_line(argv)
    assert "\n" not in line and shlex.split(line) == argv


def test_evidence_recheck():
    dns = Evidence("e1", "dns", "mx", "a&b.test", "NOERROR", resolver="127.0.0.1:5353", detail={"rdtype": "MX"})
    assert dns.recheck() == "dig @127.0.0.1 -p 5353 'a&b.test' MX"
    web = Evidence("e2", "web", "http", "https://www.x.test/", "ok")
    assert web.recheck() == "curl -sv --globoff https://www.x.test/"
    assert Evidence("e3", "tls", "cert", "x", "ok").recheck() is None


@pytest.mark.parametrize("name", ["sp\\032ace.inject.test", "a\\.b.test", "x\\092y.test", "nl\\010x.test"])
def test_escaped_names_are_asked_as_received(name):
    """A name decoded with escapes is encoded back to the same bytes: souverain asks what dig asks."""
    from souverain.collect.dnswire import encode_name, read_name

    wire = encode_name(name)
    assert encode_name(read_name(wire, 0)[0]) == wire
    assert b"\\" not in wire or name.startswith("x\\092")
