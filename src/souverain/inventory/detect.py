"""Tell an inventory's kind from its first bytes: JSON documents by their format's own marker
(``bomFormat``, ``spdxVersion``, ``log.entries``, ``format_version``), YAML with ``apiVersion`` and
``kind``, an XLSX or ODS spreadsheet, otherwise a CSV table with a header row. Anything else is refused, naming the file."""

from __future__ import annotations

import re
from pathlib import Path

from souverain import tabular
from souverain.errors import DataError
from souverain.inventory.items import check_file

SAMPLE = 256 * 1024
_YAML_KEY = re.compile(r"^(apiVersion|kind):\s*\S", re.MULTILINE)


def detect_kind(path: Path) -> str:
    check_file(path, 1 << 40)
    try:
        with path.open("rb") as handle:
            raw = handle.read(SAMPLE)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise DataError(f"{path}:1: empty file")
    if tabular.sniff(path):
        return "saas-list"  # an XLSX or ODS sheet: a SaaS/vendor list or an identity-provider export
    if b"\0" in raw:
        raise DataError(f"{path}:1: binary data, not an inventory souverain reads (nor an XLSX or ODS spreadsheet)")
    text = raw.decode("utf-8-sig", errors="replace")
    head = text.lstrip()
    if head.startswith("{"):
        if re.search(r'"bomFormat"\s*:\s*"CycloneDX"', text):
            return "cyclonedx"
        if '"spdxVersion"' in text:
            return "spdx"
        if re.search(r'"log"\s*:\s*\{', text) and '"entries"' in text:
            return "har"
        if '"format_version"' in text and ('"terraform_version"' in text or '"root_module"' in text):
            return "terraform"
        raise DataError(f"{path}:1: a JSON document of no inventory kind souverain reads "
                        "(CycloneDX, SPDX, HAR, terraform show -json); use --kind")
    if head.startswith("<"):
        if re.search(r"<bom\b[^>]*xmlns=\"http://cyclonedx\.org/schema/bom/1\.\d+\"", text):
            return "cyclonedx-xml"
        raise DataError(f"{path}:1: XML or HTML, not an inventory souverain reads (CycloneDX XML is: a <bom> "
                        "in the CycloneDX namespace)")
    if _YAML_KEY.search(text) and len(_YAML_KEY.findall(text)) >= 2:
        return "kubernetes"
    first = head.split("\n", 1)[0]
    if any(sep in first for sep in (",", ";", "\t")):
        return "saas-list"
    raise DataError(f"{path}:1: cannot tell what kind of inventory this is; use --kind")
