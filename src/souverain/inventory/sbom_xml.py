"""CycloneDX XML (cyclonedx.org/docs/1.6/xml): the same fields as the JSON form (``sbom``), in
the ``http://cyclonedx.org/schema/bom/1.x`` namespace. A document type declaration is refused
outright (no entity of any kind is expanded or fetched); locations are element paths
(``/bom/components/component[2]``), 1-based like XPath."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from souverain.errors import DataError
from souverain.inventory import items as limits
from souverain.inventory.items import Item, clip
from souverain.inventory.jsonfile import MAX_DEPTH

_NAMESPACE = re.compile(r"^\{http://cyclonedx\.org/schema/bom/1\.\d+\}")


def read_cyclonedx_xml(path: Path) -> Iterator[Item]:
    limits.check_file(path, limits.MAX_WHOLE)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    declaration = re.search(rb"<!(DOCTYPE|ENTITY)", raw)
    if declaration:
        line = raw.count(b"\n", 0, declaration.start()) + 1
        raise DataError(f"{path}:{line}: a document type declaration is not allowed in an SBOM")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise DataError(f"{path}:{exc.position[0]}: not valid XML: {str(exc).split(':', 1)[0]}") from exc
    if _local(root.tag) != "bom" or not _NAMESPACE.match(root.tag):
        raise DataError(f"{path}:1: not a CycloneDX XML document (the root is not a CycloneDX <bom>)")
    for child in root:
        if _local(child.tag) == "components":
            yield from _components(path, child, "/bom/components", 0)
        elif _local(child.tag) == "services":
            yield from _services(path, child, "/bom/services", 0)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element, *names: str) -> str:
    """The text of the first child path (local names) of ``element``."""
    node: ET.Element | None = element
    for name in names:
        node = next((c for c in node if _local(c.tag) == name), None) if node is not None else None
    return clip(node.text) if node is not None and node.text else ""


def _components(path: Path, parent: ET.Element, where: str, depth: int) -> Iterator[Item]:
    if depth > MAX_DEPTH:
        raise DataError(f"{path}#{where}: components nested more than {MAX_DEPTH} deep")
    index = 0
    for component in parent:
        if _local(component.tag) != "component":
            continue
        index += 1
        at = f"{where}/component[{index}]"
        supplier = _text(component, "supplier", "name") or _text(component, "manufacturer", "name") \
            or _text(component, "publisher") or None
        label = _text(component, "name") or _text(component, "purl") or "?"
        version = _text(component, "version")
        author = _text(component, "author")
        yield Item("cyclonedx", "software.supplier", "component", f"{label}@{version}" if version else label,
                   f"{path}#{at}", purl=_text(component, "purl") or None, supplier=supplier,
                   names=(author,) if author else ())
        for child in component:
            if _local(child.tag) == "components":
                yield from _components(path, child, f"{at}/components", depth + 1)


def _services(path: Path, parent: ET.Element, where: str, depth: int) -> Iterator[Item]:
    if depth > MAX_DEPTH:
        raise DataError(f"{path}#{where}: services nested more than {MAX_DEPTH} deep")
    index = 0
    for service in parent:
        if _local(service.tag) != "service":
            continue
        index += 1
        at = f"{where}/service[{index}]"
        endpoints = next((c for c in service if _local(c.tag) == "endpoints"), None)
        urls = tuple(clip(e.text) for e in (endpoints if endpoints is not None else ())
                     if _local(e.tag) == "endpoint" and e.text)
        yield Item("cyclonedx", "saas", "service", _text(service, "name") or (urls[0] if urls else "?"),
                   f"{path}#{at}", supplier=_text(service, "provider", "name") or None, urls=urls)
        for child in service:
            if _local(child.tag) == "services":
                yield from _services(path, child, f"{at}/services", depth + 1)
