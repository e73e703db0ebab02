"""Terraform ``terraform show -json`` output (a state or a plan): one item per resource, attributed
by its provider's registry source address, with the region or location it lives in.

The JSON output format (developer.hashicorp.com/terraform/internals/json-format) holds resources
under ``values.root_module`` (state) or ``planned_values.root_module`` (plan), each with
``address``, ``mode``, ``type``, ``provider_name`` (the source address,
``registry.terraform.io/hashicorp/aws``) and ``values``; child modules nest under
``child_modules``. A plan's ``configuration.provider_config`` gives each provider's arguments,
where the region usually is (``expressions.region.constant_value``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from souverain.errors import DataError
from souverain.inventory.items import Item, clip, mapping, pointer
from souverain.inventory.jsonfile import ARRAY, MAX_DEPTH, expect, read_json

REGION_KEYS = ("region", "location", "zone", "availability_zone")
# the parts read; resource lists are streamed, and prior_state, resource_changes... are skipped
STREAMS = tuple((top, "root_module", part) for top in ("values", "planned_values")
                for part in ("resources", "child_modules"))
KEEP = (("format_version",), ("terraform_version",), ("configuration", "provider_config"))


def read(path: Path, local: frozenset[str] = frozenset()) -> Iterator[Item]:
    """Items of one ``terraform show -json`` file; ``local``: provider addresses (namespace/type)
    that run on the machine itself (random, null, tls...): listed, never attributed."""
    doc = expect(read_json(path, streams=STREAMS, keep=KEEP), dict, path, "",
                 "not a Terraform JSON document (an object is expected)")
    if "format_version" not in doc:
        raise DataError(f"{path}#/: not `terraform show -json` output (no format_version)")
    regions = _provider_regions(doc, path)
    found = False
    for top in ("values", "planned_values"):
        module = doc.get(top)
        if module is None:
            continue
        root = expect(expect(module, dict, path, pointer(top), "an object is expected").get("root_module", {}),
                      dict, path, pointer(top, "root_module"), "an object is expected")
        for item in _module(path, root, (top, "root_module"), regions, local, 0):
            found = True
            yield item
        if found:
            return  # a plan holds both; its planned values are the resources
    if not found:
        for name, region in regions.items():  # providers configured, no resource yet
            address = region[1]
            yield _item(path, pointer("configuration", "provider_config", name), "provider", name, address,
                        region[0], local)


def _module(path: Path, module: dict, where: tuple, regions: dict, local: frozenset[str], depth: int) -> Iterator[Item]:
    if depth > MAX_DEPTH:
        raise DataError(f"{path}#{pointer(*where)}: modules nested more than {MAX_DEPTH} deep")
    resources = expect(module.get("resources", []), ARRAY, path, pointer(*where, "resources"), "a list is expected")
    for index, resource in enumerate(resources):
        at = pointer(*where, "resources", index)
        resource = expect(resource, dict, path, at, "a resource object is expected")
        provider = clip(resource.get("provider_name"))
        if not provider:
            raise DataError(f"{path}#{at}: resource without provider_name")
        values = mapping(resource.get("values"))
        region = next((clip(values[key]) for key in REGION_KEYS if isinstance(values.get(key), str) and values[key]),
                      None)
        if region is None:
            region = next((r for r, address in regions.values() if address == provider and r), None)
        label = clip(resource.get("address")) or clip(resource.get("type"))
        yield _item(path, at, "resource", label, provider, region, local)
    children = expect(module.get("child_modules", []), ARRAY, path, pointer(*where, "child_modules"), "a list is expected")
    for index, child in enumerate(children):
        yield from _module(path, expect(child, dict, path, pointer(*where, "child_modules", index), "an object is expected"),
                           (*where, "child_modules", index), regions, local, depth + 1)


def _item(path: Path, at: str, what: str, label: str, provider: str, region: str | None,
          local: frozenset[str]) -> Item:
    address = provider.lower()
    for prefix in ("registry.terraform.io/", "registry.opentofu.org/"):
        address = address.removeprefix(prefix)
    return Item("terraform", "cloud.compute", what, label, f"{path}#{at}", terraform=provider,
                region=region or None, local=address in local)


def _provider_regions(doc: dict, path: Path) -> dict[str, tuple[str | None, str]]:
    """Provider config key -> (region, full source address), from a plan's configuration."""
    config = doc.get("configuration")
    if not isinstance(config, dict) or not isinstance(config.get("provider_config"), dict):
        return {}
    found: dict[str, tuple[str | None, str]] = {}
    for key, provider in config["provider_config"].items():
        if not isinstance(provider, dict):
            continue
        expressions = mapping(provider.get("expressions"))
        region = None
        for name in REGION_KEYS:
            value = expressions.get(name)
            if isinstance(value, dict) and isinstance(value.get("constant_value"), str):
                region = clip(value["constant_value"])
                break
        found[clip(key)] = (region, clip(provider.get("full_name") or provider.get("name") or key))
    return found
