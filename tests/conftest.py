"""Shared fixtures: a small synthetic knowledge base written to a temporary folder."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

# the CLI's language follows the locale (LANG...); tests that expect English must not depend on
# the developer's: English unless a test says otherwise (--lang, or env= in click's runner)
os.environ["SOUVERAIN_LANG"] = "en"

SOURCE = [{"url": "https://example.org/registry", "title": "Synthetic test register", "retrieved": "2026-11-28"}]


def _base(**fields):
    return {**fields, "sources": copy.deepcopy(SOURCE), "as_of": "2026-11-28"}


MINI_KB = {
    "regions": {"eu": _base(id="eu", name="EU", members=["DE", "FR", "IE", "NL"])},
    "entities": {
        "usparent": _base(id="usparent", name="US Parent Inc.", country="US", type="listed-company"),
        "eusub": _base(id="eusub", name="EU Sub GmbH", country="DE",
                       owners=[{"owner": "usparent", "capital_pct": 100, "votes_pct": 100, "since": "2015-01-01"}]),
        "frco": _base(id="frco", name="FR Co SAS", country="FR"),
        "moving": _base(id="moving", name="Moving Ltd", country="IE", owners=[
            {"owner": "frco", "capital_pct": 100, "since": "2010-01-01", "until": "2020-01-01"},
            {"owner": "usparent", "capital_pct": 100, "since": "2020-01-01",
             "deal": {"completed": "2020-01-01", "amount": {"value": 1e9, "currency": "USD"}}},
        ]),
    },
    "services": {
        "eusub-mail": _base(id="eusub-mail", name="EU Sub Mail", operator="eusub", category="mail-hosting",
                            functions=["email.inbound"],
                            fingerprints={"mx": ["mail.protection.example-cloud.com"], "txt": ["eusub-verify="]}),
        "usparent-web": _base(id="usparent-web", name="US Parent Web", operator="usparent", category="cdn",
                              functions=["web.cdn"], fingerprints={"cname": ["example-cloud.com"], "asn": [64500]}),
    },
    "laws": {
        "us-law": _base(id="us-law", name="US Test Act", country="US", citation="1 U.S.C. 1",
                        effect="compels-access", binds="US providers and their subsidiaries",
                        reach=["seat", "control"], seat_countries=["US"], extraterritorial=True,
                        summary="Compels disclosure of data in the provider's control wherever stored.",
                        status=[{"state": "in-force", "since": "2018-03-23"}]),
    },
}


def write_kb(root: Path, records: dict) -> Path:
    for kind, items in records.items():
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for rid, data in items.items():
            (folder / f"{rid}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture
def mini_records() -> dict:
    return copy.deepcopy(MINI_KB)


@pytest.fixture
def mini_kb_dir(tmp_path: Path, mini_records: dict) -> Path:
    return write_kb(tmp_path / "kb", mini_records)


@pytest.fixture(autouse=True)
def _bundled_kb_by_default():
    """The CLI's --kb option sets a process-wide default; never let it leak between tests."""
    from souverain.kb.base import use_kb

    use_kb(None)
    yield
    use_kb(None)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """The suite never leaves the machine: any socket aimed elsewhere fails the test."""
    import ipaddress
    import socket

    def check(address) -> None:
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            try:
                ip = ipaddress.ip_address(address[0].split("%")[0])
            except ValueError:
                raise AssertionError(f"a test connected to a host name: {address[0]}") from None
            assert ip.is_loopback, f"a test tried to reach {address[0]}"

    real_connect, real_connect_ex, real_sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    def sendto(self, data, *args):
        check(args[-1])
        return real_sendto(self, data, *args)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)


WORLD = Path(__file__).parent / "data" / "world"


@pytest.fixture(scope="session")
def world_dns():
    """The loopback test world's DNS server on 127.0.0.1, one for the whole session."""
    from souverain.testing.dnsserver import DNSServer

    server = DNSServer(WORLD / "zones").start()
    yield server
    server.stop()
