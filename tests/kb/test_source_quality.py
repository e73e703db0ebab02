"""Source quality: primary/secondary kinds, the ownership-evidence check, `kb validate --strict`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.sources import ownership_problems, site, source_kind, weak_sources
from tests.conftest import write_kb


def _source(url, **extra):
    return {"url": url, "title": "A source title", "retrieved": "2026-12-01", **extra}


def _kb(tmp_path, mini_records, eusub_sources):
    mini_records["entities"]["eusub"]["sources"] = eusub_sources
    mini_records["entities"]["usparent"]["website"] = "https://www.usparent.example/"
    mini_records["lists"] = {
        "primary-source-hosts": {"id": "primary-source-hosts", "name": "Registers", "values": ["sec.gov"],
                                 "sources": [_source("https://example.org/list")], "as_of": "2026-12-01"},
        "weak-source-hosts": {"id": "weak-source-hosts", "name": "Mirrors", "values": ["docslib.org"],
                              "sources": [_source("https://example.org/list")], "as_of": "2026-12-01"},
    }
    return write_kb(tmp_path / "kb", mini_records)


def test_site_folds_subdomains():
    assert site("https://www.sec.gov/Archives/edgar/x.htm") == "sec.gov"
    assert site("https://legifrance.gouv.fr/jorf/id/1") == "legifrance.gouv.fr"


def test_kinds(tmp_path, mini_records):
    root = _kb(tmp_path, mini_records, [_source("https://www.sec.gov/a"), _source("https://news.example/b"),
                                        _source("https://press.usparent.example/deal"),
                                        _source("https://news.example/c", kind="primary")])
    kb = load_kb(root)
    kinds = [source_kind(kb, "eusub", s) for s in kb.entities["eusub"].sources]
    # a register, a newspaper, the parent group's own page, an explicit kind
    assert kinds == ["primary", "secondary", "primary", "primary"]


def test_ownership_needs_one_primary_or_two_independent_secondary(tmp_path, mini_records):
    one_site = [_source("https://news.example/a"), _source("https://www.news.example/b")]
    kb = load_kb(_kb(tmp_path, mini_records, one_site))
    # "moving" rests on the fixture's one synthetic register page, not listed as primary here
    assert [p.record for p in ownership_problems(kb)] == ["eusub", "moving"]
    mini_records["entities"]["moving"]["sources"] = [_source("https://www.sec.gov/x")]
    two_sites = [_source("https://news.example/a"), _source("https://other.example/b")]
    kb = load_kb(_kb(tmp_path / "2", mini_records, two_sites))
    assert ownership_problems(kb) == []


def test_weak_source_counts_for_nothing(tmp_path, mini_records):
    mini_records["entities"]["moving"]["sources"] = [_source("https://www.sec.gov/x")]
    sources = [_source("https://docslib.org/doc/1/annual-report"), _source("https://news.example/a")]
    kb = load_kb(_kb(tmp_path, mini_records, sources))
    assert [p.record for p in ownership_problems(kb)] == ["eusub"]
    assert [p.record for p in weak_sources(kb)] == ["eusub"]


def test_validate_strict_fails_and_stats_lists(tmp_path, mini_records):
    root = _kb(tmp_path, mini_records, [_source("https://news.example/a")])
    runner = CliRunner()
    assert runner.invoke(cli, ["kb", "validate", "--path", str(root)]).exit_code == 0
    strict = runner.invoke(cli, ["kb", "validate", "--path", str(root), "--strict"])
    assert strict.exit_code == 2
    assert "eusub.yaml" in strict.output and "primary source" in strict.output
    stats = runner.invoke(cli, ["--kb", str(root), "kb", "stats", "--format", "json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    assert "eusub" in data["ownership_short_of_sources"]
    assert set(data["sources_by_kind"]) == {"primary", "secondary", "weak"}


def test_bundled_kb_classifies_filings_as_primary():
    kb = load_kb()
    amazon = kb.entities["amazon"]
    assert any(source_kind(kb, "amazon", s) == "primary" for s in amazon.sources)
