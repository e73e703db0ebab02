"""The one host normaliser, and IP addresses kept out of the Public Suffix List."""

from __future__ import annotations

import pytest

from souverain.kb.hostnames import ip_literals, is_address, normalise_host
from souverain.kb.psl import PublicSuffixList


@pytest.mark.parametrize(("raw", "normal"), [
    ("WWW.Example.FR.", "www.example.fr"),
    ("  mail.example.test  ", "mail.example.test"),
    ("bücher.de", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("203.0.113.5", "203.0.113.5"),
    ("203.0.113.5.", "203.0.113.5"),
    ("2001:DB8:0:0::1", "2001:db8::1"),
    ("selector1._domainkey.example.test", "selector1._domainkey.example.test"),
])
def test_one_spelling_per_host(raw, normal):
    assert normalise_host(raw) == normal


@pytest.mark.parametrize("raw", ["", ".", "  ", "a" * 64 + ".test", "a.." + "b.test",
                                 ("a" * 60 + ".") * 5 + "test"])
def test_impossible_names_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_host(raw)


def test_addresses_and_names_told_apart():
    assert is_address("203.0.113.5") and is_address("2001:db8::1")
    assert not is_address("example.test") and not is_address("1.2.3.999")
    assert not is_address("host.123")  # a name with a numeric last label is not an address
    assert ip_literals(["203.0.113.5", "example.test", "2001:DB8::1", "1.2.3.999"]) == [
        "203.0.113.5", "2001:db8::1"]


@pytest.fixture(scope="module")
def psl() -> PublicSuffixList:
    return PublicSuffixList.bundled()


@pytest.mark.parametrize("address", ["203.0.113.5", "192.0.2.10.", "2001:db8::1"])
def test_an_address_is_its_own_registrable_domain(psl, address):
    # The list is for names: splitting 203.0.113.5 gave "113.5", which made every address in
    # 113.5 look like one organisation.
    normal = normalise_host(address)
    assert psl.registrable_domain(address) == normal
    assert psl.registrable_domain(address, private=False) == normal
    assert psl.public_suffix(address) == ""
    assert not psl.is_public_suffix(address)


def test_two_addresses_that_share_their_last_labels_are_apart(psl):
    assert psl.registrable_domain("203.0.113.5") != psl.registrable_domain("198.51.113.5")
