"""Population readers: formats, column mapping, bad rows with line numbers, duplicates."""

from __future__ import annotations

import pytest

from souverain.errors import UsageError
from souverain.survey.inputs import read_population


def test_csv_with_bad_rows(tmp_path):
    path = tmp_path / "communes.csv"
    path.write_text("insee;nom;site;region\n01001;A;https://www.a-ville.fr/contact;84\n01002;B;not a domain;84\n"
                    "01003;C;mailto:x@c-ville.fr;84\n01004;D;a-ville.fr;84\n01005;E;;84\n", encoding="utf-8")
    population = read_population(path, domain_column="site")
    assert [t.domain for t in population.targets] == ["a-ville.fr", "c-ville.fr"]
    assert population.targets[0].attrs == {"insee": "01001", "nom": "A", "region": "84"}
    assert [b.line for b in population.bad] == [3, 6]
    assert population.duplicates == 1


def test_autodetected_column_tsv_jsonl_list(tmp_path):
    (tmp_path / "a.tsv").write_text("Domain\tsector\nexample.fr\tpublic\n")
    assert read_population(tmp_path / "a.tsv").targets[0].attrs == {"sector": "public"}
    (tmp_path / "b.jsonl").write_text('{"domain": "x.test", "pop": 3}\n"y.test"\n{broken\n[1]\n')
    population = read_population(tmp_path / "b.jsonl")
    assert [t.domain for t in population.targets] == ["x.test", "y.test"]
    assert [b.line for b in population.bad] == [3, 4] and "invalid JSON" in population.bad[0].problem
    (tmp_path / "c.txt").write_text("# communes\nexample.fr\n\nEXAMPLE.fr.\nbad_domain!\n")
    population = read_population(tmp_path / "c.txt")
    assert [t.domain for t in population.targets] == ["example.fr"] and population.duplicates == 1
    assert population.bad[0].line == 5


def test_missing_domain_column(tmp_path):
    (tmp_path / "a.csv").write_text("name,city\nA,B\n")
    with pytest.raises(UsageError, match="no domain column"):
        read_population(tmp_path / "a.csv")
    with pytest.raises(UsageError, match="not a column"):
        read_population(tmp_path / "a.csv", domain_column="site")
