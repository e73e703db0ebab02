"""JSON inventories stream their big arrays: same items as a whole parse, bounded memory on a big
file, an element over the cap named with file and line, chunk boundaries anywhere."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.inventory import har, jsonstream, sbom
from souverain.inventory.jsonstream import JSONStream, StreamedJSON
from souverain.kb.psl import PublicSuffixList

DATA = Path(__file__).parents[1] / "data" / "inventory"
FILES = ["terraform-plan.json", "cyclonedx.json", "spdx.json", "session.har"]


def materialise(value):
    if isinstance(value, JSONStream):
        return [materialise(item) for item in value]
    if isinstance(value, dict):
        return {key: materialise(item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_chunk_boundaries_anywhere_give_the_whole_document(name, chunk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "_CHUNK", chunk)
    path = DATA / name
    whole = json.loads(path.read_text(encoding="utf-8"))
    assert StreamedJSON(path, (), ((),)).document() == whole
    streams = tuple((key,) for key, value in whole.items() if isinstance(value, list))
    document = StreamedJSON(path, streams, ((),)).document()
    assert all(isinstance(document[key[0]], JSONStream) for key in streams)
    assert materialise(document) == whole


def test_skipped_parts_are_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"a": {"big": list(range(1000)), "small": 1}, "files": [{"x": 1}] * 100,
                                "packages": [{"name": "p"}]}), encoding="utf-8")
    document = StreamedJSON(path, (("packages",),), (("a", "small"),)).document()
    assert set(document) == {"a", "packages"} and document["a"] == {"small": 1}
    assert list(document["packages"]) == [{"name": "p"}]


def big_har(path: Path, entries: int) -> Path:
    entry = {"request": {"method": "GET", "url": "", "headers": [{"name": "x", "value": "y" * 200}]},
             "response": {"status": 200, "content": {"size": 1000, "text": "z" * 1500}}}
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "pages": '
                     '[{"title": "https://www.acme.example/"}], "entries": [\n')
        for n in range(entries):
            entry["request"]["url"] = f"https://cdn{n % 5}.thirdparty{n % 3}.example/lib{n % 7}.js"
            handle.write(("," if n else "") + json.dumps(entry) + "\n")
        handle.write("]}}\n")
    return path


def peak_reading(path: Path) -> tuple[int, list]:
    tracemalloc.start()
    try:
        items = list(har.read(path))
        return tracemalloc.get_traced_memory()[1], items
    finally:
        tracemalloc.stop()


def test_big_har_reads_with_bounded_memory(tmp_path: Path) -> None:
    PublicSuffixList.bundled()  # loaded once per process: not part of what a file costs
    small, _ = peak_reading(big_har(tmp_path / "small.har", 4000))  # ~7.5 MB
    path = big_har(tmp_path / "big.har", 12000)  # ~22 MB; parsed whole it would take several times that
    big, items = peak_reading(path)
    assert len(items) == len({item.urls for item in items}) == 5 * 3 * 7
    assert items[0].location.endswith("#/log/entries/0")
    assert big < small + 1_000_000 and big < path.stat().st_size / 3, (small, big)


def test_element_over_the_cap_names_file_line_and_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "MAX_ELEMENT", 5000)
    monkeypatch.setattr(jsonstream, "_CHUNK", 1000)
    path = tmp_path / "bom.json"
    path.write_text('{"bomFormat": "CycloneDX",\n"components": [\n{"name": "a"},\n{"name": "' + "b" * 20000 + '"}]}',
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["inventory", str(path)])
    assert result.exit_code == 2, result.output
    assert f"{path}:4: one element is larger than 5,000 characters" in result.output


def test_error_inside_a_stream_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text('{"spdxVersion": "SPDX-2.3",\n"packages": [\n{"name": "a"},\n{"name": b}]}', encoding="utf-8")
    with pytest.raises(Exception, match=r"bom\.json:4: not valid JSON: Expecting value"):
        list(sbom.read_spdx(path))
    path.write_text('{"spdxVersion": "SPDX-2.3", "packages": [{"name": "a"}] } trailing', encoding="utf-8")
    with pytest.raises(Exception, match="extra data after the document"):
        list(sbom.read_spdx(path))
