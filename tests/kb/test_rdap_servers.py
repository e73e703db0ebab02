"""``lists/rdap-servers``: the schema and ``kb validate`` check each RDAP server entry (an https base
URL or null, one entry per TLD, a registry that runs the TLD, its own sources)."""

from __future__ import annotations

import copy

import pytest

from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from tests.conftest import SOURCE, write_kb


def entry(**fields) -> dict:
    return {"tld": "de", "url": "https://rdap.registry.example/", "registry": "eusub",
            "sources": copy.deepcopy(SOURCE), "as_of": "2026-12-07", **fields}


def records(mini_records: dict, *servers: dict, **fields) -> dict:
    mini_records["entities"]["eusub"]["registry_tlds"] = ["de"]
    mini_records["lists"] = {"rdap-servers": {"id": "rdap-servers", "name": "RDAP servers", "rdap_servers": list(servers),
                                              "sources": copy.deepcopy(SOURCE), "as_of": "2026-12-07", **fields}}
    return mini_records


def problems(tmp_path, data: dict) -> list[str]:
    with pytest.raises(KBValidationError) as info:
        load_kb(write_kb(tmp_path / "kb", data))
    return [str(problem) for problem in info.value.problems]


def test_a_well_formed_list_loads(tmp_path, mini_records):
    kb = load_kb(write_kb(tmp_path / "kb", records(mini_records, entry(), entry(tld="at", url=None, registry=None))))
    servers = kb.records["rdap-servers"].rdap_servers  # type: ignore[attr-defined]
    assert [(s.tld, s.url) for s in servers] == [("de", "https://rdap.registry.example/"), ("at", None)]


@pytest.mark.parametrize(("server", "message"), [
    (entry(url="http://rdap.registry.example/"), "rdap_servers[0].url"),
    (entry(url="https://rdap.registry.example"), "rdap_servers[0].url"),
    (entry(tld=".de"), "rdap_servers[0].tld"),
    (entry(sources=[]), "rdap_servers[0].sources"),
    (entry(registry="frco"), "entities/frco.yaml does not list 'de' in its registry_tlds"),
    (entry(registry="nobody"), "unknown entity 'nobody'"),
])
def test_bad_entries_are_named(tmp_path, mini_records, server, message):
    found = problems(tmp_path, records(mini_records, server))
    assert any("lists/rdap-servers.yaml" in p and message in p for p in found), found


def test_a_tld_listed_twice_and_an_empty_list_are_refused(tmp_path, mini_records):
    found = problems(tmp_path, records(mini_records, entry(), entry(url=None)))
    assert any("TLD listed twice: de" in p for p in found), found
    found = problems(tmp_path / "empty", records(mini_records))
    assert any("a list holds something" in p for p in found), found


def test_the_bundled_list_names_each_tlds_registry_and_marks_secondary_sources():
    record = load_kb().records["rdap-servers"]
    servers = {s.tld: s for s in record.rdap_servers}  # type: ignore[attr-defined]
    assert {"de", "ch", "li", "io", "it", "ee", "be", "eu", "dk", "se"} <= set(servers)
    assert all(s.registry for s in servers.values())
    # .io rests on a client library's observation, not on the registry: it must say so
    assert servers["io"].unverified and "github.com/meeb/whoisit" in str(servers["io"].sources[0].url)
