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


def test_oversize_field_skips_its_row_only(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("domain,note\na.test,short\nb.test," + "x" * 100_000 + "\nc.test,fine\n" + "y" * 100_000
                    + ".test,n\nd.test,last\n", encoding="utf-8")
    population = read_population(path)
    assert [t.domain for t in population.targets] == ["a.test", "c.test", "d.test"]
    assert [b.line for b in population.bad] == [3, 5]
    assert all("field larger than field limit" in b.problem for b in population.bad)


def test_unterminated_quote_is_one_error_and_the_next_rows_are_kept(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('domain,name\na.test,"Alpha\nb.test,Beta\nc.test,Gamma\nd.test,Delta\ne.test,"Eps\nf.test,Phi\n',
                    encoding="utf-8")
    population = read_population(path)
    assert [(t.line, t.domain) for t in population.targets] == [(3, "b.test"), (4, "c.test"), (5, "d.test"),
                                                                (7, "f.test")]
    assert [b.line for b in population.bad] == [2, 6]
    assert "unterminated quote" in population.bad[0].problem and "lines 3-6" in population.bad[0].problem


def test_quoted_field_over_several_lines_is_still_a_row(tmp_path):
    path = tmp_path / "address.csv"
    path.write_text('domain,address\na.test,"1 rue X\n75001 Paris"\nb.test,"2 rue Y"\n', encoding="utf-8")
    population = read_population(path)
    assert [(t.line, t.domain) for t in population.targets] == [(2, "a.test"), (4, "b.test")]
    assert population.targets[0].attrs == {"address": "1 rue X\n75001 Paris"} and not population.bad


def test_jsonl_bad_first_lines_are_bad_rows_not_the_header(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{not json\n["a list"]\n{"domain": "a.example", "insee": "1"}\n{"domain": "b.example"}\n',
                    encoding="utf-8")
    population = read_population(path)
    assert [t.domain for t in population.targets] == ["a.example", "b.example"]
    assert [b.line for b in population.bad] == [1, 2]
    assert population.targets[0].attrs == {"insee": "1"}


@pytest.mark.parametrize("suffix", ["xlsx", "ods"])
def test_spreadsheet_population_first_or_named_sheet(tmp_path, suffix):
    from souverain.testing.spreadsheets import write_ods, write_xlsx

    writer = write_xlsx if suffix == "xlsx" else write_ods
    rows = [["insee", "site", "region"], ["01001", "https://www.a-ville.fr/", "84"], ["01002", "not a domain", "84"],
            [None, None, None], ["01004", "b-ville.fr", None]]
    path = writer(tmp_path / f"communes.{suffix}", {"Communes": rows, "Autre": [["domain"], ["c-ville.fr"]]})
    population = read_population(path, domain_column="site")
    assert [(t.line, t.domain, t.attrs) for t in population.targets] == [
        (2, "a-ville.fr", {"insee": "01001", "region": "84"}), (5, "b-ville.fr", {"insee": "01004"})]
    assert [b.line for b in population.bad] == [3]
    assert [t.domain for t in read_population(path, sheet="Autre").targets] == ["c-ville.fr"]
    renamed = tmp_path / "communes.bin"
    renamed.write_bytes(path.read_bytes())  # no extension to go by: told from the content
    assert len(read_population(renamed, domain_column="site").targets) == 2


def test_spreadsheet_over_long_cell_is_a_bad_row(tmp_path):
    from souverain.survey import inputs
    from souverain.testing.spreadsheets import write_xlsx

    path = write_xlsx(tmp_path / "p.xlsx", {"S": [["domain"], ["x" * (inputs.MAX_FIELD + 10)], ["ok.fr"]]})
    population = read_population(path)
    assert [t.domain for t in population.targets] == ["ok.fr"]
    assert population.bad[0].line == 2 and "sheet 'S': cell A2 is longer than" in population.bad[0].problem


def test_sheet_option_needs_a_spreadsheet(tmp_path):
    (tmp_path / "a.csv").write_text("domain\nx.fr\n")
    with pytest.raises(UsageError, match="is not a spreadsheet"):
        read_population(tmp_path / "a.csv", sheet="S")
