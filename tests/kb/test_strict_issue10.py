"""Issue #10 item 9: the bundled KB passes `kb validate --strict` (CI runs it in `make lint`)."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from souverain.attribute.who import who
from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.sources import ownership_problems, site, source_kind, weak_sources

TODAY = dt.date(2026, 12, 7)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_bundled_kb_has_no_ownership_or_weak_source_problem(kb):
    assert [p.record for p in ownership_problems(kb)] == []
    assert [p.record for p in weak_sources(kb)] == []


def test_strict_validate_exits_0_on_the_bundled_kb():
    result = CliRunner().invoke(cli, ["kb", "validate", "--strict"])
    assert result.exit_code == 0, result.output


def test_acens_ownership_rests_on_two_sites(kb):
    entity = kb.entities["acens"]
    assert [edge.owner for edge in entity.owners] == ["telefonica"]
    assert {site(str(s.url)) for s in entity.sources} >= {"carlosblanco.com", "elpais.com"}
    assert who(kb, "acens", dt.date(2022, 6, 1), today=TODAY).data["controller"]["id"] == "telefonica"


def test_kabelplus_ownership_has_a_primary_source(kb):
    entity = kb.entities["kabelplus"]
    assert [edge.owner for edge in entity.owners] == ["evn"]
    assert any(source_kind(kb, "kabelplus", s) == "primary" for s in entity.sources)


@pytest.mark.parametrize("rid", ["identrust", "microsoft-deutschland-mcio"])
def test_unbacked_edges_were_removed_and_the_search_recorded(kb, rid):
    entity = kb.entities[rid]
    assert entity.owners == []
    assert "Searched on" in entity.unverified["owners"]
