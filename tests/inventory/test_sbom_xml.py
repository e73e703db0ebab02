"""CycloneDX XML is streamed: bounded memory on a big file, every field read whatever its order,
and truncated, oversized, wrong-kind and hostile files refused with one line naming file and line."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.errors import DataError
from souverain.inventory import items, sbom_xml

DATA = Path(__file__).parents[1] / "data" / "inventory"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n'


def fails(path: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["inventory", str(path), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def write(tmp_path: Path, body: str, name: str = "bom.xml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def big_bom(path: Path, components: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEAD + "<components>\n")
        for n in range(components):
            handle.write(f'<component type="library"><supplier><name>Supplier {n % 40}</name></supplier>'
                         f"<name>lib{n}</name><version>1.0.{n}</version><purl>pkg:maven/org.example{n % 40}/lib{n}@1"
                         f"</purl><description>{'d' * 1500}</description></component>\n")
        handle.write("</components>\n</bom>\n")
    return path


def peak_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in sbom_xml.read_cyclonedx_xml(path))
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


def test_big_xml_reads_with_bounded_memory(tmp_path: Path) -> None:
    small, _ = peak_reading(big_bom(tmp_path / "small.xml", 3000))  # ~5 MB
    path = big_bom(tmp_path / "big.xml", 12000)  # ~20 MB; ElementTree kept the whole tree (several times that)
    big, count = peak_reading(path)
    assert count == 12000
    assert big < small + 1_000_000 and big < path.stat().st_size / 4, (small, big)


def test_fields_in_any_order_nested_and_foreign_elements(tmp_path: Path) -> None:
    path = write(tmp_path, """<metadata><component><name>the product itself</name></component></metadata>
<components xmlns:x="urn:example:ext">
 <component><components><component><name>inner</name><publisher>Pub Inc</publisher></component></components>
  <name>late &amp; named</name><version>2</version><supplier><name>  Supplier   Co </name></supplier>
  <x:component><name>an extension, not a component</name></x:component></component>
 <x:list><component><name>not in a CycloneDX list</name></component></x:list>
 <component><manufacturer><name>Maker</name></manufacturer><purl>pkg:npm/a@1</purl><author>Ann</author></component>
</components>
<services><service><name>Mail relay</name><provider><name>Prov</name></provider>
 <endpoints><endpoint>https://a.example/x</endpoint><endpoint>https://b.example</endpoint></endpoints>
 <services><service><endpoints><endpoint>https://c.example</endpoint></endpoints></service></services></service>
</services></bom>""")
    found = {item.location.split("#", 1)[1]: item for item in sbom_xml.read_cyclonedx_xml(path)}
    assert list(found) == ["/bom/components/component[1]/components/component[1]", "/bom/components/component[1]",
                           "/bom/components/component[2]", "/bom/services/service[1]/services/service[1]",
                           "/bom/services/service[1]"]  # a record after the ones nested in it
    assert (found["/bom/components/component[1]"].label, found["/bom/components/component[1]"].supplier) == (
        "late & named@2", "Supplier Co")
    inner = found["/bom/components/component[1]/components/component[1]"]
    assert (inner.label, inner.supplier) == ("inner", "Pub Inc")
    second = found["/bom/components/component[2]"]
    assert (second.label, second.supplier, second.purl, second.names) == ("pkg:npm/a@1", "Maker", "pkg:npm/a@1",
                                                                         ("Ann",))
    relay = found["/bom/services/service[1]"]
    assert (relay.label, relay.supplier, relay.urls) == ("Mail relay", "Prov", ("https://a.example/x",
                                                                               "https://b.example"))
    assert found["/bom/services/service[1]/services/service[1]"].label == "https://c.example"


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_chunk_boundaries_anywhere(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = list(sbom_xml.read_cyclonedx_xml(DATA / "cyclonedx.xml"))
    monkeypatch.setattr(sbom_xml, "_CHUNK", chunk)
    assert list(sbom_xml.read_cyclonedx_xml(DATA / "cyclonedx.xml")) == whole and len(whole) == 4


def test_truncated_names_the_line(tmp_path: Path) -> None:
    text = (DATA / "cyclonedx.xml").read_text(encoding="utf-8")
    path = tmp_path / "cut.xml"
    path.write_text(text[: text.index("<services>") + 20], encoding="utf-8")
    assert fails(path).startswith(f"error: {path}:23: not valid XML: ")  # the line where it stops
    path.write_text(text.replace("<version>12.27.0</version>", "<version>12.27.0</versio>"), encoding="utf-8")
    assert f"{path}:12: not valid XML: mismatched tag" in fails(path)


def test_oversized_file_and_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(items, "MAX_BYTES", 100)
    assert "cyclonedx.xml:1: file too large" in fails(DATA / "cyclonedx.xml")
    monkeypatch.undo()
    monkeypatch.setattr(sbom_xml, "MAX_TOKEN", 5000)
    monkeypatch.setattr(sbom_xml, "_CHUNK", 1000)
    long_text = write(tmp_path, "<components>\n<component><name>a</name><description>" + "d" * 50_000
                      + "</description></component></components></bom>\n", "text.xml")
    assert [item.label for item in sbom_xml.read_cyclonedx_xml(long_text)] == ["a"]  # text streams: fine
    huge_tag = write(tmp_path, '<components>\n<component note="' + "x" * 50_000 + '"><name>a</name></component>'
                     "</components></bom>\n", "tag.xml")
    assert f"{huge_tag}:4: one XML tag or comment is larger than 5,000 bytes" in fails(huge_tag)
    comment = write(tmp_path, "<!--" + "c" * 50_000 + "--></bom>\n", "comment.xml")
    assert "one XML tag or comment is larger than" in fails(comment)


def test_long_fields_are_cut(tmp_path: Path) -> None:
    path = write(tmp_path, "<components><component><name>" + "n" * 100_000 + "</name></component></components></bom>")
    [item] = sbom_xml.read_cyclonedx_xml(path)
    assert item.label == "n" * items.MAX_FIELD


@pytest.mark.parametrize(("content", "expected"), [
    ('{"bomFormat": "CycloneDX", "components": []}', ":1: not valid XML: not well-formed"),
    ('<?xml version="1.0"?>\n<bom xmlns="http://example.org/other"><components/></bom>',
     ":2: not a CycloneDX XML document"),
    ('<?xml version="1.0"?>\n<bom><components/></bom>', ":2: not a CycloneDX XML document"),
    ("<html><body><bom/></body></html>", ":1: not a CycloneDX XML document"),
    ("", ":1: empty file"),
])
def test_wrong_kind(content: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "in.xml"
    path.write_text(content, encoding="utf-8")
    assert f"{path}{expected}" in fails(path, "--kind", "cyclonedx-xml") if content else \
        f"{path}{expected}" in fails(path)


@pytest.mark.parametrize("prologue", [
    # billion laughs
    ('<!DOCTYPE bom [\n <!ENTITY a "ha">\n <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
     ' <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n]>\n'),
    '<!DOCTYPE bom SYSTEM "http://127.0.0.1:9/evil.dtd">\n',  # an external DTD is not fetched
    '<!DOCTYPE bom [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n',
    "<!DOCTYPE html>\n",
])
def test_document_type_declarations_refused(prologue: str, tmp_path: Path) -> None:
    path = tmp_path / "bom.xml"
    path.write_text('<?xml version="1.0"?>\n' + prologue + '<bom xmlns="http://cyclonedx.org/schema/bom/1.6">'
                    "<components><component><name>&c;</name></component></components></bom>\n", encoding="utf-8")
    assert fails(path, "--kind", "cyclonedx-xml") == (
        f"error: {path}:2: a document type declaration is not allowed in an SBOM")


def test_undeclared_entity_and_deep_nesting(tmp_path: Path) -> None:
    path = write(tmp_path, "<components><component><name>&xxe;</name></component></components></bom>")
    assert f"{path}:3: not valid XML: undefined entity" in fails(path)
    deep = write(tmp_path, "<components>" + "<component><components>" * 70 + "</components></component>" * 70
                 + "</components></bom>", "deep.xml")
    with pytest.raises(DataError, match=r"deep\.xml#/bom/components(/component\[1\]/components)+: components nested "
                                        r"more than 64 deep"):
        list(sbom_xml.read_cyclonedx_xml(deep))
    elements = write(tmp_path, "<metadata>" + "<x>" * 1000 + "</x>" * 1000 + "</metadata></bom>", "elements.xml")
    assert "elements nested more than" in fails(elements)


def test_html_in_names_is_text_in_every_report(tmp_path: Path) -> None:
    path = write(tmp_path, "<components><component><name>&lt;script&gt;alert(1)&lt;/script&gt;</name>"
                 "<supplier><name>&lt;img src=x onerror=alert(2)&gt;</name></supplier>"
                 "<purl>=HYPERLINK(\"http://evil.invalid\")</purl></component></components></bom>")
    html = tmp_path / "out.html"
    assert CliRunner().invoke(cli, ["inventory", str(path), "--format", "html", "-o", str(html)]).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "&lt;script&gt;alert(1)" in page
    out = tmp_path / "out.csv"
    assert CliRunner().invoke(cli, ["inventory", str(path), "--format", "csv", "-o", str(out)]).exit_code == 0
    assert ",=HYPERLINK" not in out.read_text(encoding="utf-8")
