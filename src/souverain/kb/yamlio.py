"""YAML reading for KB records: YAML 1.2 booleans, and line numbers for every field path.

PyYAML follows YAML 1.1, where ``NO`` (Norway) and ``on`` are booleans; country codes make
that a real hazard, so only ``true``/``false`` are booleans here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:  # libyaml is ~10x faster when the wheel has it
    _Base = yaml.CSafeLoader  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader


class KBLoader(_Base):  # type: ignore[misc,valid-type]
    """Safe loader with YAML 1.2 booleans."""


KBLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in _Base.yaml_implicit_resolvers.copy().items()
}
KBLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(text: str) -> Any:
    return yaml.load(text, Loader=KBLoader)  # noqa: S506 - KBLoader derives from SafeLoader


def line_index(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each field path (tuple of keys and list indexes) to its 1-based line number."""
    lines: dict[tuple[str | int, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=KBLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return lines
