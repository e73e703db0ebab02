"""Software bills of materials: CycloneDX JSON (``components``, nested, and ``services`` with their
``endpoints``) and SPDX 2.x JSON (``packages``).

CycloneDX (cyclonedx.org/docs/1.6/json): a component has ``supplier.name``, ``manufacturer.name``,
``publisher``, ``author``, ``purl``, ``name``, ``version`` and nested ``components``; a service has
``provider.name``, ``name`` and ``endpoints`` (URLs). SPDX 2.3 (spdx.github.io/spdx-spec/v2.3):
a package has ``supplier`` / ``originator`` ("Organization: X", "Person: Y" or NOASSERTION),
``name``, ``versionInfo`` and ``externalRefs`` whose ``referenceType`` ``purl`` gives its purl.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from souverain.errors import DataError
from souverain.inventory.items import Item, clip, pointer
from souverain.inventory.jsonfile import ARRAY, MAX_DEPTH, expect, read_json


def read_cyclonedx(path: Path) -> Iterator[Item]:
    doc = expect(read_json(path, streams=(("components",), ("services",)), keep=(("bomFormat",), ("specVersion",))),
                 dict, path, "", "not a CycloneDX document (an object is expected)")
    if doc.get("bomFormat") != "CycloneDX":
        raise DataError(f"{path}#/bomFormat: not a CycloneDX JSON document (bomFormat is not \"CycloneDX\")")
    yield from _components(path, doc.get("components", []), ("components",), 0)
    yield from _services(path, doc.get("services", []), ("services",), 0)


def _components(path: Path, components: Any, where: tuple, depth: int) -> Iterator[Item]:
    if depth > MAX_DEPTH:
        raise DataError(f"{path}#{pointer(*where)}: components nested more than {MAX_DEPTH} deep")
    for index, component in enumerate(expect(components, ARRAY, path, pointer(*where), "a list is expected")):
        at = (*where, index)
        component = expect(component, dict, path, pointer(*at), "a component object is expected")
        supplier = _name(component.get("supplier")) or _name(component.get("manufacturer")) \
            or clip(component.get("publisher")) or None
        label = clip(component.get("name")) or clip(component.get("purl")) or "?"
        version = clip(component.get("version"))
        yield Item("cyclonedx", "software.supplier", "component", f"{label}@{version}" if version else label,
                   f"{path}#{pointer(*at)}", purl=clip(component.get("purl")) or None, supplier=supplier,
                   names=tuple(n for n in (clip(component.get("author")),) if n))
        if "components" in component:
            yield from _components(path, component["components"], (*at, "components"), depth + 1)


def _services(path: Path, services: Any, where: tuple, depth: int) -> Iterator[Item]:
    if depth > MAX_DEPTH:
        raise DataError(f"{path}#{pointer(*where)}: services nested more than {MAX_DEPTH} deep")
    for index, service in enumerate(expect(services, ARRAY, path, pointer(*where), "a list is expected")):
        at = (*where, index)
        service = expect(service, dict, path, pointer(*at), "a service object is expected")
        endpoints = service.get("endpoints", [])
        urls = tuple(clip(url) for url in expect(endpoints, list, path, pointer(*at, "endpoints"), "a list is expected")
                     if isinstance(url, str))
        provider = _name(service.get("provider"))
        yield Item("cyclonedx", "saas", "service", clip(service.get("name")) or (urls[0] if urls else "?"),
                   f"{path}#{pointer(*at)}", supplier=provider, urls=urls)
        if "services" in service:
            yield from _services(path, service["services"], (*at, "services"), depth + 1)


def _name(value: Any) -> str | None:
    """The ``name`` of a CycloneDX organizationalEntity."""
    return (clip(value.get("name")) or None) if isinstance(value, dict) else None


def read_spdx(path: Path) -> Iterator[Item]:
    doc = expect(read_json(path, streams=(("packages",),), keep=(("spdxVersion",),)), dict, path, "",
                 "not an SPDX document (an object is expected)")
    if not str(doc.get("spdxVersion", "")).startswith("SPDX-"):
        raise DataError(f"{path}#/spdxVersion: not an SPDX JSON document (no spdxVersion \"SPDX-2.x\")")
    for index, package in enumerate(expect(doc.get("packages", []), ARRAY, path, "/packages", "a list is expected")):
        at = pointer("packages", index)
        package = expect(package, dict, path, at, "a package object is expected")
        supplier = _actor(package.get("supplier")) or _actor(package.get("originator"))
        purl = None
        refs = package.get("externalRefs", [])
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, dict) and str(ref.get("referenceType", "")).lower() == "purl":
                purl = clip(ref.get("referenceLocator")) or None
                break
        label = clip(package.get("name")) or "?"
        version = clip(package.get("versionInfo"))
        yield Item("spdx", "software.supplier", "package", f"{label}@{version}" if version else label,
                   f"{path}#{at}", purl=purl, supplier=supplier)


def _actor(value: Any) -> str | None:
    """``Organization: Oracle Corporation (email)`` -> ``Oracle Corporation``; persons and
    NOASSERTION name no supplier."""
    text = clip(value)
    kind, _, name = text.partition(":")
    if kind.strip() != "Organization" or not name.strip():
        return None
    return name.split("(", 1)[0].strip() or None
