"""``kb update-rdap --from dns.json``: IANA's RDAP bootstrap (RFC 9224) checked and written with
its publication date; the registrar look-up reads it; malformed files exit 2 naming the entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.collect.rdap import parse_bootstrap, rdap_base
from souverain.kb import rdapboot

# the shape of RFC 9224 section 4's example, with real-looking TLDs
DOCUMENT = {"version": "1.0", "publication": "2026-12-01T18:00:01Z",
            "description": "RDAP bootstrap file for Domain Name System registrations",
            "services": [[["fr", "re", "PM."], ["https://rdap.nic.fr/"]],
                         [["com", "net"], ["http://rdap.verisign.com/com/v1/", "https://rdap.verisign.com/com/v1/"]],
                         [["xn--p1ai"], ["https://rdap.example.ru/"]]]}


def update(tmp_path: Path, document: object) -> tuple[int, str, Path]:
    source, out = tmp_path / "dns.json", tmp_path / "out.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(cli, ["kb", "update-rdap", "--from", str(source), "--out", str(out)])
    return result.exit_code, result.output, out


def test_update_writes_a_checked_copy_the_lookup_reads(tmp_path: Path) -> None:
    code, output, out = update(tmp_path, DOCUMENT)
    assert code == 0, output
    assert json.loads(output) == {"publication": "2026-12-01T18:00:01Z", "tlds": 6, "servers": 4, "file": str(out)}
    table = parse_bootstrap(json.loads(out.read_text(encoding="utf-8")))
    assert rdap_base("example.PM", bootstrap=table) == "https://rdap.nic.fr/"
    assert rdap_base("example.net", bootstrap=table) == "https://rdap.verisign.com/com/v1/"  # HTTPS preferred


@pytest.mark.parametrize(("document", "message"), [
    ({"services": {}}, "not an RDAP bootstrap file"),
    ({**DOCUMENT, "publication": "yesterday"}, "#/publication: not a date and time"),
    ({**DOCUMENT, "services": [[["fr"]]]}, "#/services/0: an entry is a pair"),
    ({**DOCUMENT, "services": [[["<script>"], ["https://x.example/"]]]}, "#/services/0: '<script>' is not a TLD"),
    ({**DOCUMENT, "services": [[["fr"], ["https://a.example/"]], [["fr"], ["https://b.example/"]]]},
     "#/services/1: TLD 'fr' is listed twice"),
    ({**DOCUMENT, "services": [[["fr"], ["ftp://a.example/"]]]}, "#/services/0: base URLs must be http(s) URLs"),
])
def test_malformed_bootstraps_exit_2(tmp_path: Path, document: object, message: str) -> None:
    code, output, out = update(tmp_path, document)
    assert code == 2 and message in output and "Traceback" not in output, output
    assert not out.exists()


def test_bundled_bootstrap_is_well_formed() -> None:
    document = rdapboot.read_bootstrap(rdapboot.BUNDLED)
    assert document["publication"] and parse_bootstrap(document)


def test_bundled_bootstrap_is_ianas_whole_file() -> None:
    """The bundled copy is IANA's complete dns.json (not an excerpt): every gTLD registry that
    publishes RDAP is there, dated, with the servers IANA lists."""
    document = rdapboot.read_bootstrap(rdapboot.BUNDLED)
    assert document["publication"] >= "2026-06-26"
    table = parse_bootstrap(document)
    assert len(table) > 1000
    assert table["org"] == "https://rdap.publicinterestregistry.org/rdap/"
    assert table["fr"] == "https://rdap.nic.fr/" and table["nl"] == "https://rdap.sidn.nl/"
    assert table["shop"] == "https://rdap.gmoregistry.net/rdap/"
    assert "de" not in table  # DENIC does not publish in IANA's file: no invented server
