"""`network_role` on service records: what an MX address in that network says about the mail."""

from __future__ import annotations

import pytest

from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from tests.conftest import write_kb


def test_role_is_read_and_defaults_to_hosting(tmp_path, mini_records):
    mini_records["services"]["usparent-web"]["network_role"] = "transit"
    kb = load_kb(write_kb(tmp_path / "kb", mini_records))
    assert kb.services["usparent-web"].network_role == "transit"
    assert kb.services["eusub-mail"].network_role == "hosting"


@pytest.mark.parametrize(("service", "role", "expected"), [
    ("eusub-mail", "colocation", "needs fingerprints.asn"),  # a role describes address space
    ("usparent-web", "proxy", "network_role"),  # not one of hosting, transit, colocation
])
def test_bad_roles_are_reported(tmp_path, mini_records, service, role, expected):
    mini_records["services"][service]["network_role"] = role
    with pytest.raises(KBValidationError) as info:
        load_kb(write_kb(tmp_path / "bad", mini_records))
    found = [str(p) for p in info.value.problems]
    assert any(f"services/{service}.yaml" in p and expected in p for p in found), found


def test_bundled_roles():
    kb = load_kb()
    assert kb.services["cloudflare-network"].network_role == "transit"
    assert {kb.services[s].network_role for s in ("equinix-network", "digital-realty-network")} == {"colocation"}
    assert kb.services["aws-network"].network_role == "hosting"
