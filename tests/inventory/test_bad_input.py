"""Bad inventories: truncated, oversized, wrong-kind and hostile files exit 2 with one line naming
the file and the line (or JSON pointer), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.inventory import items, kubernetes

DATA = Path(__file__).parents[1] / "data" / "inventory"


def fails(*args: str) -> str:
    result = CliRunner().invoke(cli, ["inventory", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("name", ["terraform-plan.json", "cyclonedx.json", "spdx.json", "session.har"])
def test_truncated_json(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    text = (DATA / name).read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    line = fails(str(path), "--kind", {"terraform-plan.json": "terraform", "cyclonedx.json": "cyclonedx",
                                        "spdx.json": "spdx", "session.har": "har"}[name])
    assert f"{path}:" in line and "not valid JSON" in line


def test_truncated_yaml(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: Pod\nspec: [a, b\n",
                    encoding="utf-8")
    line = fails(str(path))
    assert line.startswith(f"error: {path}:") and ":9:" in line or ":8:" in line


def test_truncated_csv_quote(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text('name,domain\nCRM,"acme.example\n', encoding="utf-8")
    # an unterminated quote runs to the end of the file: the row is still listed, nothing crashes
    result = CliRunner().invoke(cli, ["inventory", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output


def test_oversized_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(items, "MAX_BYTES", 100)
    line = fails(str(DATA / "cyclonedx.json"))
    assert "cyclonedx.json:1: file too large" in line


def test_oversized_yaml_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubernetes, "MAX_DOCUMENT", 200)
    line = fails(str(DATA / "manifests.yaml"))
    assert "manifests.yaml:1: YAML document larger than" in line


@pytest.mark.parametrize(("content", "expected"), [
    ("<!DOCTYPE html><html><body>hi</body></html>", "XML or HTML"),
    ('{"hello": "world"}', "no inventory kind"),
    ("just some words\n", "cannot tell what kind"),
    ("", "empty file"),
])
def test_wrong_kind(content: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text(content, encoding="utf-8")
    assert expected in fails(str(path))


def test_kind_forced_on_the_wrong_file() -> None:
    line = fails(str(DATA / "spdx.json"), "--kind", "cyclonedx")
    assert "spdx.json#/bomFormat: not a CycloneDX JSON document" in line
    line = fails(str(DATA / "session.har"), "--kind", "terraform")
    assert "not `terraform show -json` output" in line
    line = fails(str(DATA / "saas.csv"), "--kind", "kubernetes")
    assert "saas.csv:1: not a Kubernetes object" in line


def test_binary_and_non_utf8(tmp_path: Path) -> None:
    binary = tmp_path / "apps.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00binary")
    assert "not a readable spreadsheet (truncated or corrupt ZIP" in fails(str(binary))
    other = tmp_path / "apps.bin"
    other.write_bytes(b"\x00\x01binary")
    assert "binary data" in fails(str(other))
    latin = tmp_path / "apps.csv"
    latin.write_bytes("name,domain\nCaf\xe9,x.example\n".encode("latin-1"))
    assert "not UTF-8" in fails(str(latin))


def test_yaml_alias_bomb_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text('apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a ["x", "x"]\n  b: [*a, *a]\n', encoding="utf-8")
    line = fails(str(path))
    assert "bomb.yaml:5: alias *a is not allowed" in line


def test_json_nested_too_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"bomFormat": "CycloneDX", "components": ' + "[" * 100000 + "]" * 100000 + "}", encoding="utf-8")
    assert "nested too deep" in fails(str(path))


def test_json_wrong_shape_names_pointer(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text('{"bomFormat": "CycloneDX", "components": [{"name": "a"}, "oops"]}', encoding="utf-8")
    assert f"{path}#/components/1: a component object is expected" in fails(str(path))


def test_xml_entities_refused_and_truncated_xml(tmp_path: Path) -> None:
    bomb = tmp_path / "bom.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE bom [<!ENTITY a "aaaa">]>\n'
                    '<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components/></bom>\n', encoding="utf-8")
    assert "bom.xml:2: a document type declaration is not allowed" in fails(str(bomb), "--kind", "cyclonedx-xml")
    truncated = tmp_path / "cut.xml"
    text = (DATA / "cyclonedx.xml").read_text(encoding="utf-8")
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    line = fails(str(truncated))
    assert f"{truncated}:" in line and "not valid XML" in line


def test_oversized_csv_field(tmp_path: Path) -> None:
    path = tmp_path / "apps.csv"
    path.write_text("name,domain\nok,a.example\n" + '"' + "x" * 200_000 + '",b.example\n', encoding="utf-8")
    assert f"{path}:3: not valid CSV: field larger than field limit" in fails(str(path))
