"""``domain.registry``: the TLD's registry from the KB, attributed like any operator (offline)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from souverain.attribute.registry import attribute_registry
from souverain.cli.main import cli
from souverain.collect.observation import ObservationBuilder
from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from tests.conftest import write_kb

EU_EEA_CCTLDS = ["at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr", "hu", "ie", "it", "lv", "lt", "lu", "mt", "nl", "pl", "pt", "ro", "sk", "si", "es", "se", "is", "li", "no"]


def _observation(domain: str):
    obs = ObservationBuilder(domain, ("registry",))
    obs.add("kb", "tld", domain, "ok", detail={"tld": domain.rsplit(".", 1)[-1]})
    return obs.freeze()


def test_registry_follows_the_operator_chain_to_its_laws(tmp_path, mini_records):
    mini_records["entities"]["eusub"]["registry_tlds"] = ["test"]
    kb = load_kb(write_kb(tmp_path / "kb", mini_records))
    [dep] = attribute_registry(kb.at(dt.date(2026, 1, 1)), _observation("shop.test"))
    assert (dep.function, dep.status, dep.tier) == ("domain.registry", "identified", "verified")
    assert dep.operator.id == "eusub" and dep.controller.id == "usparent"
    assert "us-law" in dep.foreign_laws
    assert dep.rule == "entities/eusub.yaml: registry_tlds test"
    assert dep.evidence == ("e1",) and dep.reason_params["tld"] == "test"


def test_a_tld_without_a_registry_in_the_kb_is_unknown_not_independent(mini_kb_dir):
    kb = load_kb(mini_kb_dir)
    [dep] = attribute_registry(kb.at(dt.date(2026, 1, 1)), _observation("shop.test"))
    assert (dep.status, dep.tier, dep.reason) == ("unknown", "unknown", "registry-unknown")
    assert dep.operator is None and dep.evidence == ("e1",)


def test_two_registries_for_one_tld_fail_validation(tmp_path, mini_records):
    mini_records["entities"]["eusub"]["registry_tlds"] = ["test"]
    mini_records["entities"]["frco"]["registry_tlds"] = ["test"]
    mini_records["entities"]["frco"]["iana_registrar_id"] = 42
    mini_records["entities"]["eusub"]["iana_registrar_id"] = 42
    with pytest.raises(KBValidationError) as info:
        load_kb(write_kb(tmp_path / "bad", mini_records))
    found = [str(problem) for problem in info.value.problems]
    assert any("registry_tlds[0]" in p and "TLD 'test' is also run by entities/" in p for p in found), found
    assert any("IANA registrar id 42 is also given to entities/" in p for p in found), found


def test_bad_tld_is_refused(tmp_path, mini_records):
    mini_records["entities"]["frco"]["registry_tlds"] = [".fr"]
    with pytest.raises(KBValidationError):
        load_kb(write_kb(tmp_path / "bad", mini_records))


def test_bundled_kb_names_the_registry_of_every_eu_eea_cctld_and_the_largest_gtlds():
    index = load_kb().indexes.registries
    wanted = [*EU_EEA_CCTLDS, "ch", "uk", "com", "net", "org", "info", "eu", "io"]
    assert [tld for tld in wanted if tld not in index] == []
    assert index["fr"] == "afnic" and index["com"] == "verisign" and index["eu"] == "eurid"


def test_scan_functions_registry_is_offline_and_in_both_languages():
    # port 9 on loopback answers nothing: the registry group must not ask the DNS anything
    base = ["scan", "example.com", "example.fr", "unknown.zz", "--functions", "registry",
            "--nameserver", "127.0.0.1:9", "--timeout", "0.2", "--no-web-fetch", "--quiet"]
    result = CliRunner().invoke(cli, [*base, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    deps = {dep["domain"]: dep for dep in data["dependencies"]}
    assert {dep["function"] for dep in deps.values()} == {"domain.registry"}
    assert deps["example.com"]["controller"]["country"] == "US"
    assert "us-cloud-act" in {law["id"] for law in deps["example.com"]["laws"]}
    assert deps["example.fr"]["operator"]["id"] == "afnic"
    assert deps["unknown.zz"]["status"] == "unknown"
    assert data["scan"]["dns_stats"].get("TIMEOUT", 0) == 0
    fr = CliRunner().invoke(cli, [*base, "--lang", "fr", "--format", "csv"]).output
    assert "le domaine de premier niveau .fr est géré par le registre Association française" in fr
    assert "ne nomme aucun registre pour le domaine de premier niveau .zz" in fr
