"""`kb validate` finds each kind of problem and reports it as path:line: field: problem."""

from __future__ import annotations

import pytest

from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from tests.conftest import write_kb


def problems_for(tmp_path, records) -> list[str]:
    root = write_kb(tmp_path / "bad", records)
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    return [str(problem) for problem in info.value.problems]


def test_mini_kb_is_valid(mini_kb_dir):
    kb = load_kb(mini_kb_dir)
    assert set(kb.entities) == {"usparent", "eusub", "frco", "moving"}


def test_missing_sources(tmp_path, mini_records):
    del mini_records["entities"]["frco"]["sources"]
    found = problems_for(tmp_path, mini_records)
    assert any("entities/frco.yaml:1: sources: is required" in p for p in found), found


def test_empty_sources_list(tmp_path, mini_records):
    mini_records["entities"]["frco"]["sources"] = []
    found = problems_for(tmp_path, mini_records)
    assert any("frco.yaml" in p and "sources" in p for p in found), found


def test_dangling_reference_has_line_number(tmp_path, mini_records):
    mini_records["entities"]["eusub"]["owners"][0]["owner"] = "nobody"
    found = problems_for(tmp_path, mini_records)
    hit = [p for p in found if "eusub.yaml" in p and "owners[0].owner" in p]
    assert hit and "unknown entity 'nobody'" in hit[0], found
    line = int(hit[0].split(":")[1])
    text = (tmp_path / "bad/entities/eusub.yaml").read_text().splitlines()
    assert "nobody" in text[line - 1]


def test_reference_to_wrong_kind(tmp_path, mini_records):
    mini_records["services"]["eusub-mail"]["operator"] = "us-law"
    found = problems_for(tmp_path, mini_records)
    assert any("operator" in p and "is a law, expected an entity" in p for p in found), found


def test_ownership_cycle(tmp_path, mini_records):
    mini_records["entities"]["usparent"]["owners"] = [{"owner": "eusub", "capital_pct": 10, "since": "2015-01-01"}]
    found = problems_for(tmp_path, mini_records)
    assert any("ownership cycle" in p and "usparent" in p and "eusub" in p for p in found), found


def test_cycle_only_in_disjoint_periods_is_not_a_cycle(tmp_path, mini_records):
    # frco owned moving until 2020; moving owning frco from 2021 on is a different period
    mini_records["entities"]["frco"]["owners"] = [{"owner": "moving", "capital_pct": 10, "since": "2021-01-01"}]
    write_kb(tmp_path / "ok", mini_records)
    load_kb(tmp_path / "ok")


def test_duplicate_fingerprint(tmp_path, mini_records):
    mini_records["services"]["usparent-web"]["fingerprints"]["mx"] = ["mail.protection.example-cloud.com"]
    found = problems_for(tmp_path, mini_records)
    assert any("duplicate fingerprint 'mail.protection.example-cloud.com'" in p for p in found), found


def test_duplicate_txt_and_asn(tmp_path, mini_records):
    mini_records["services"]["usparent-web"]["fingerprints"]["txt"] = ["EUSUB-verify="]
    mini_records["services"]["eusub-mail"]["fingerprints"]["asn"] = [64500]
    found = problems_for(tmp_path, mini_records)
    assert any("duplicate fingerprint txt" in p for p in found), found
    assert any("duplicate fingerprint asn 64500" in p for p in found), found


def test_public_suffix_fingerprint_rejected(tmp_path, mini_records):
    mini_records["services"]["usparent-web"]["fingerprints"]["host"] = ["co.uk"]
    found = problems_for(tmp_path, mini_records)
    assert any("'co.uk' is a public suffix" in p for p in found), found


def test_url_fingerprint_on_a_public_suffix_rejected(tmp_path, mini_records):
    mini_records["services"]["usparent-web"]["fingerprints"]["url"] = ["co.uk/widget/"]
    found = problems_for(tmp_path, mini_records)
    assert any("'co.uk/widget/': its host is a public suffix" in p for p in found), found


def test_url_fingerprint_needs_a_path(tmp_path, mini_records):
    mini_records["services"]["usparent-web"]["fingerprints"]["url"] = ["nopath.example"]
    found = problems_for(tmp_path, mini_records)
    assert any("fingerprints.url[0]" in p and "such as google.com/recaptcha/" in p for p in found), found


def test_duplicate_id_across_kinds(tmp_path, mini_records):
    clash = dict(mini_records["entities"]["frco"], id="eusub-mail")
    mini_records["entities"]["eusub-mail"] = clash
    found = problems_for(tmp_path, mini_records)
    assert any("duplicate id" in p for p in found), found


def test_id_must_equal_file_name(tmp_path, mini_records):
    mini_records["entities"]["frco"]["id"] = "frco-other"
    found = problems_for(tmp_path, mini_records)
    assert any("differs from file name 'frco'" in p for p in found), found


def test_shares_over_100_percent(tmp_path, mini_records):
    mini_records["entities"]["eusub"]["owners"].append({"owner": "frco", "capital_pct": 30, "since": "2015-01-01"})
    found = problems_for(tmp_path, mini_records)
    assert any("capital_pct of owners adds up to 130" in p for p in found), found



BOUNDED = {"since_before": "2015-06-01", "until": "2016-01-01", "note": "held at the 2015 report's date"}


def test_shares_checked_at_a_since_before_bound(tmp_path, mini_records):
    # moving: frco 100 % 2010-2020; a bounded 60 % stake asserted only from mid-2015 to 2016 overlaps
    # it, yet no edge's `since` falls in that window
    mini_records["entities"]["moving"]["owners"].append({"owner": "eusub", "capital_pct": 60, **BOUNDED})
    found = problems_for(tmp_path, mini_records)
    assert any("moving.yaml" in p and "capital_pct of owners adds up to 160 % at 2015-06-01" in p
               for p in found), found


def test_single_controller_checked_at_a_since_before_bound(tmp_path, mini_records):
    mini_records["entities"]["moving"]["owners"].append({"owner": "eusub", "control": True, **BOUNDED})
    found = problems_for(tmp_path, mini_records)
    assert any("moving.yaml" in p and "several controlling owners at 2015-06-01: frco, eusub" in p
               for p in found), found


def test_cycle_checked_at_a_since_before_bound(tmp_path, mini_records):
    # eusub is held by usparent from 2015; usparent held by eusub only within a bounded window
    mini_records["entities"]["usparent"]["owners"] = [{"owner": "eusub", "capital_pct": 10, **BOUNDED}]
    found = problems_for(tmp_path, mini_records)
    assert any("ownership cycle" in p and "(at 2015-06-01)" in p for p in found), found

def test_yaml_syntax_error_has_line(tmp_path, mini_records):
    root = write_kb(tmp_path / "bad", mini_records)
    (root / "entities/frco.yaml").write_text("id: frco\nname: [unclosed\ncountry: FR\n")
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    [problem] = [str(p) for p in info.value.problems if "frco.yaml" in str(p)]
    assert problem.startswith(f"{root.resolve()}/entities/frco.yaml:3: while parsing a flow sequence: "), problem


def test_norway_is_not_false(tmp_path, mini_records):
    mini_records["regions"]["eu"]["members"].append("NO")
    root = write_kb(tmp_path / "kb", mini_records)
    text = (root / "regions/eu.yaml").read_text().replace("'NO'", "NO")
    (root / "regions/eu.yaml").write_text(text)
    assert "NO" in load_kb(root).region("eu")


def test_duplicate_key_in_a_record(tmp_path, mini_records):
    root = write_kb(tmp_path / "bad", mini_records)
    path = root / "entities/frco.yaml"
    lines = path.read_text().splitlines()
    country = next(i for i, line in enumerate(lines, start=1) if line.startswith("country:"))
    path.write_text("\n".join([*lines, "country: US"]) + "\n")
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    assert [str(p) for p in info.value.problems] == [
        f"{path.resolve()}:{len(lines) + 1}: country: duplicate key 'country' (first on line {country})"]


@pytest.mark.parametrize(("content", "problem"), [
    (b"id: frco\nname: Soci\xe9t\xe9\n", "2: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    (b"\x00\x01binary", "1: binary data (a NUL byte), not YAML text"),
    (b"a: &a [*a]\n", "1: alias *a is not allowed (write the value out)"),
])
def test_an_unreadable_record_is_one_problem(tmp_path, mini_records, content, problem):
    root = write_kb(tmp_path / "bad", mini_records)
    (root / "entities/zz.yaml").write_bytes(content)
    with pytest.raises(KBValidationError) as info:
        load_kb(root)
    assert [str(p) for p in info.value.problems] == [f"{(root / 'entities/zz.yaml').resolve()}:{problem}"]
