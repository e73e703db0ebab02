"""``--connect-to`` rules, as curl reads them, with hosts compared in their one normal form."""

from __future__ import annotations

import pytest

from souverain.collect.connect import ConnectMap, ConnectRule
from souverain.errors import UsageError


def test_connect_map_rules_and_wildcards():
    cmap = ConnectMap.parse([
        "www.site.test:443:127.0.0.1:8443",
        ":80:127.0.0.2:8080",
        "other.test::[::1]:",
    ])
    assert cmap.rules[2] == ConnectRule("other.test", None, "::1", None)
    assert cmap.target("WWW.Site.Test.", 443) == ("127.0.0.1", 8443)
    assert cmap.target("www.site.test", 8443) == ("www.site.test", 8443)  # no rule matches
    assert cmap.target("anything.test", 80) == ("127.0.0.2", 8080)
    assert cmap.target("other.test", 443) == ("::1", 443)  # empty PORT2 keeps the port
    assert ConnectMap.parse([":443::9443"]).target("a.test", 443) == ("a.test", 9443)
    assert ConnectMap.parse(["::127.0.0.1:"]).target("a.test", 1234) == ("127.0.0.1", 1234)
    first_wins = ConnectMap.parse(["a.test:443:127.0.0.1:1", ":443:127.0.0.1:2"])
    assert first_wins.target("a.test", 443) == ("127.0.0.1", 1)
    assert ConnectMap().target("a.test", 443) == ("a.test", 443)


@pytest.mark.parametrize("spec", [
    "a.test:443:127.0.0.1",          # three fields
    "a.test:443:127.0.0.1:80:1",     # five
    "a.test:https:127.0.0.1:80",     # port not a number
    "a.test:443:127.0.0.1:70000",    # port out of range
    "a.test:0:127.0.0.1:80",
    "a.test:443:localhost:8443",     # HOST2 must be an address (we never resolve)
    "a.test:443:::1:8443",           # IPv6 without brackets
    "",
])
def test_connect_map_rejects_bad_rules(spec):
    with pytest.raises(UsageError, match="--connect-to"):
        ConnectMap.parse([spec])


def test_rule_hosts_are_compared_in_their_normal_form():
    # A Unicode HOST1 matches the IDNA name the request uses; an IPv6 HOST1 any spelling of it.
    idn = ConnectMap.parse(["bücher.test:443:127.0.0.1:8443"])
    assert idn.rules[0].from_host == "xn--bcher-kva.test"
    assert idn.target("xn--bcher-kva.test", 443) == ("127.0.0.1", 8443)
    assert idn.target("BÜCHER.test.", 443) == ("127.0.0.1", 8443)
    v6 = ConnectMap.parse(["[2001:DB8:0::1]:80:127.0.0.1:8080"])
    assert v6.target("2001:db8::1", 80) == ("127.0.0.1", 8080)


def test_a_host1_no_request_can_name_is_refused():
    with pytest.raises(UsageError, match="HOST1"):
        ConnectMap.parse([f"{'a' * 64}.test:443:127.0.0.1:8443"])
