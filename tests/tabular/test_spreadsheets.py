"""XLSX and ODS read as rows, from files written here after ECMA-376 and OpenDocument; hostile
files (zip bombs, DTDs, truncation, wrong kinds, huge cells, huge repeats) are refused or bounded."""

from __future__ import annotations

import zipfile

import pytest

from souverain.errors import DataError
from souverain.tabular import Limits, Sheet, read_rows, sniff
from souverain.testing.spreadsheets import sheet_xml, write_ods, write_xlsx

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def rows(path, sheet=None, limits=None):
    return [(row.number, row.cells) for row in read_rows(path, sheet, limits)]


@pytest.mark.parametrize("shared", [False, True])
def test_xlsx_first_sheet_inline_and_shared_strings(tmp_path, shared):
    path = write_xlsx(tmp_path / "apps.xlsx", {"Apps": [["name", "domain"], ["Slack", "slack.com"], [None, "x.fr"]],
                                               "Other": [["z"]]}, shared_strings=shared)
    assert sniff(path) == "xlsx"
    assert rows(path) == [(1, ["name", "domain"]), (2, ["Slack", "slack.com"]), (3, ["", "x.fr"])]
    assert rows(path, "Other") == [(1, ["z"])]


def test_xlsx_cells_by_reference_types_and_runs(tmp_path):
    xml = (f'<worksheet xmlns="{MAIN}"><sheetData>'
           '<row r="2"><c r="C2" t="b"><v>1</v></c><c r="A2"><v>42</v></c></row>'
           '<row r="5"><c r="B5" t="str"><f>A2&amp;"x"</f><v>42x</v></c>'
           '<c r="D5" t="inlineStr"><is><r><t>Hel</t></r><r><t xml:space="preserve">lo </t></r>'
           '<rPh><t>ignored</t></rPh></is></c></row>'
           '<row r="6"></row></sheetData></worksheet>')
    path = write_xlsx(tmp_path / "t.xlsx", {"S": xml})
    assert rows(path) == [(2, ["42", "", "TRUE"]), (5, ["", "42x", "", "Hello "])]


def test_strict_ooxml_namespace_reads_the_same(tmp_path):
    xml = sheet_xml([["a", "b"]]).replace(MAIN, "http://purl.oclc.org/ooxml/spreadsheetml/main")
    assert rows(write_xlsx(tmp_path / "s.xlsx", {"S": xml})) == [(1, ["a", "b"])]


def test_missing_sheet_names_the_sheets(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", {"Apps": [["a"]], "Vendors": [["b"]]})
    with pytest.raises(DataError, match=r"a\.xlsx: no sheet named 'Nope' \(sheets: 'Apps', 'Vendors'\)"):
        rows(path, "Nope")


def test_ods_rows_repeats_spaces_and_annotations(tmp_path):
    tables = (
        '<table:table table:name="Feuille 1"><table:table-column table:number-columns-repeated="1024"/>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>nom</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>domaine</text:p></table:table-cell>'
        '<table:table-cell table:number-columns-repeated="16382"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="1024"/>'
        '</table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>note'
        '</text:p></office:annotation><text:p>Mairie<text:s text:c="2"/>de X</text:p><text:p>bis</text:p>'
        '</table:table-cell><table:table-cell office:value-type="float" office:value="1234.5">'
        '<text:p>1 234,50</text:p></table:table-cell></table:table-row>'
        '<table:table-row table:number-rows-repeated="2"><table:table-cell office:value-type="string" '
        'table:number-columns-repeated="2"><text:p>same</text:p></table:table-cell></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048570"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>'
        '</table:table><table:table table:name="Deux"><table:table-row><table:table-cell office:value-type='
        '"boolean" office:boolean-value="true"><text:p>VRAI</text:p></table:table-cell></table:table-row>'
        '</table:table>')
    path = write_ods(tmp_path / "c.ods", tables=tables)
    assert sniff(path) == "ods"
    sheet = Sheet(path)
    assert [(row.number, row.cells) for row in sheet.rows()] == [
        (1, ["nom", "domaine"]), (5, ["Mairie  de X\nbis", "1234.5"]), (6, ["same", "same"]), (7, ["same", "same"])]
    assert sheet.name == "Feuille 1"
    assert rows(path, "Deux") == [(1, ["true"])]


def test_ods_missing_sheet(tmp_path):
    path = write_ods(tmp_path / "c.ods", {"A": [["x"]]})
    with pytest.raises(DataError, match="no sheet named 'B' \\(sheets: 'A'\\)"):
        rows(path, "B")


def test_ods_repeated_rows_are_bounded(tmp_path):
    tables = ('<table:table table:name="T"><table:table-row table:number-rows-repeated="1048576">'
              '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'
              '</table:table-row></table:table>')
    path = write_ods(tmp_path / "bomb.ods", tables=tables)
    with pytest.raises(DataError, match=r"bomb\.ods\[T\]:1001: more than 1,000 rows"):
        rows(path, limits=Limits(max_rows=1000))
    with pytest.raises(DataError, match=r"more than 500 cells"):
        rows(path, limits=Limits(max_cells=500))


def test_huge_cell_is_cut_and_reported_on_its_row(tmp_path):
    path = write_xlsx(tmp_path / "big.xlsx", {"S": [["name"], ["x" * 5000]]})
    found = list(read_rows(path, limits=Limits(max_cell=100)))
    assert found[1].cells == ["x" * 100]
    assert found[1].problem == "cell A2 is longer than 100 characters (cut)"


def test_columns_beyond_the_limit_are_ignored_and_reported(tmp_path):
    path = write_xlsx(tmp_path / "wide.xlsx", {"S": [["a", "b", "c", "d"]]})
    found = list(read_rows(path, limits=Limits(max_columns=2)))
    assert found[0].cells == ["a", "b"] and "beyond column B" in (found[0].problem or "")


def test_dtd_and_entities_are_refused(tmp_path):
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is>'
              '</c></row></sheetData></worksheet>')
    path = write_xlsx(tmp_path / "lol.xlsx", {"S": laughs})
    with pytest.raises(DataError, match=r"lol\.xlsx\[xl/worksheets/sheet1\.xml\]: XML with a document type "
                                        r"declaration \(DTD\) is refused"):
        rows(path)


def test_zip_bomb_stops_at_the_cap(tmp_path):
    big = sheet_xml([["a" * 1000] for _ in range(2000)])  # ~2 MB uncompressed, a few KB compressed
    path = write_xlsx(tmp_path / "bomb.xlsx", {"S": big})
    with pytest.raises(DataError, match=r"bomb\.xlsx\[xl/worksheets/sheet1\.xml\]: .*bytes once uncompressed"):
        rows(path, limits=Limits(max_member_bytes=1_000_000))


def test_truncated_zip(tmp_path):
    path = write_xlsx(tmp_path / "cut.xlsx", {"S": [["a"]] * 200})
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"cut\.xlsx: not a readable spreadsheet \(truncated or corrupt ZIP"):
        rows(path)


def test_corrupt_member_names_the_member(tmp_path):
    path = tmp_path / "bad.xlsx"
    write_xlsx(path, {"S": [["abcdef"]]})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0xFF  # inside the compressed stream: a bad CRC or a bad deflate block
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"bad\.xlsx\[xl/worksheets/sheet1\.xml\]"):
        rows(path)


def test_malformed_xml_names_member_and_line(tmp_path):
    path = write_xlsx(tmp_path / "m.xlsx", {"S": f'<worksheet xmlns="{MAIN}">\n<sheetData>\n<row></sheetData>'})
    with pytest.raises(DataError, match=r"m\.xlsx\[xl/worksheets/sheet1\.xml\]:3: not well-formed XML"):
        rows(path)


def test_wrong_kinds(tmp_path):
    docx = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    assert sniff(docx) is None
    with pytest.raises(DataError, match="a ZIP archive but not a spreadsheet"):
        rows(docx)
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(DataError, match=r"old\.xls: a legacy \.xls or password-protected Office file"):
        sniff(legacy)
    text = tmp_path / "list.csv"
    text.write_text("domain\nexample.fr\n")
    assert sniff(text) is None
    odt = write_ods(tmp_path / "doc.odt", {"A": [["x"]]}, mimetype="application/vnd.oasis.opendocument.text")
    assert sniff(odt) is None


def test_shared_string_out_of_range(tmp_path):
    xml = f'<worksheet xmlns="{MAIN}"><sheetData><row r="4"><c r="A4" t="s"><v>7</v></c></row></sheetData></worksheet>'
    path = write_xlsx(tmp_path / "s.xlsx", {"S": xml}, shared_strings=True)
    with pytest.raises(DataError, match=r"s\.xlsx\[S\]:4: a cell refers to shared string '7'"):
        rows(path)
