"""Imports only run down the layers (ARCHITECTURE.md): a module importing a layer above its own fails.

    cli/web -> survey -> scan -> attribute -> collect/assess -> kb/store/report/model

Every import of a ``souverain`` module counts, in functions and under ``if TYPE_CHECKING:`` too (a
type is a dependency as well). ``model`` depends on nothing of souverain; ``errors`` and
``version`` may be imported by every layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"
BOTTOM = {"kb", "store", "report", "model", "tabular"}
BELOW_SCAN = {"attribute", "collect", "assess"} | BOTTOM
EVERYWHERE = {"errors", "version"}

# layer -> the layers it may import (its own always, and EVERYWHERE). Layers on one level do not
# import each other: collect and assess are separate stages, kb/store/report/model are apart.
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),  # souverain/__init__.py
    "__main__": {"cli"},
    "cli": {"web", "survey", "scan", "inventory", "testing"} | BELOW_SCAN,
    "web": {"survey", "scan"} | BELOW_SCAN,
    "survey": {"scan"} | BELOW_SCAN,
    "scan": BELOW_SCAN,
    "inventory": BELOW_SCAN,  # an organisation's own inventories, attributed like a scan's evidence
    "attribute": {"collect"} | BOTTOM,
    "collect": BOTTOM,
    "assess": BOTTOM,
    "testing": BELOW_SCAN,  # fakes shipped with the package (loopback DNS and HTTP, test CA)
    "kb": {"model"},
    "store": {"model"},
    "report": {"model"},
    "model": set(),
    "tabular": set(),  # spreadsheets read as rows (survey inputs, inventory lists)
    "errors": set(),
    "version": set(),
}

# (importing module, imported module) allowed against the table, each with its reason. Keep it
# short; an entry no longer needed fails test_exceptions_are_still_needed, so remove it then.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> str:
    """``souverain.attribute.mail`` -> ``attribute``; ``souverain.scan`` -> ``scan``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(module: str, source: str, is_package: bool = False) -> list[tuple[str, int]]:
    """(imported souverain module, line) for every import in ``source``, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(package + ([base] if base else []))
            if base == "souverain":  # from souverain import scan
                found += [(f"souverain.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((base, node.lineno))
    return [(name, line) for name, line in found if name.startswith("souverain.")]


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    allowed = ALLOWED[own] | EVERYWHERE | {own}
    return [f"{module}:{line} imports {name}" for name, line in imports(module, source, is_package)
            if layer_of(name) not in allowed and (module, name) not in EXCEPTIONS]


def modules() -> list[tuple[str, str, bool]]:
    found = []
    for path in sorted((SRC / "souverain").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found.append((".".join(parts), path.read_text(encoding="utf-8"), package))
    return found


def test_every_layer_is_in_the_table():
    layers = {layer_of(module) for module, _, _ in modules()}
    assert layers <= set(ALLOWED), f"place the new layer(s) in ALLOWED: {sorted(layers - set(ALLOWED))}"


def test_imports_only_run_down():
    found = [v for module, source, package in modules() for v in violations(module, source, package)]
    assert not found, "imports that run back up the layers:\n" + "\n".join(found)


def test_exceptions_are_still_needed():
    seen = {(module, name) for module, source, package in modules()
            for name, _ in imports(module, source, package)}
    stale = set(EXCEPTIONS) - seen
    assert not stale, f"remove these from EXCEPTIONS, the imports are gone: {sorted(stale)}"


@pytest.mark.parametrize(("module", "source", "bad"), [
    ("souverain.attribute.dependency", "from souverain.assess.exposure import laws_for_entity", True),
    ("souverain.attribute.dependency", "if TYPE_CHECKING:\n    import souverain.scan", True),
    ("souverain.collect.web", "def f():\n    from souverain import survey", True),
    ("souverain.collect.web", "from ..assess import offer", True),
    ("souverain.kb.base", "from . import view", False),
    ("souverain.kb", "from .view import KBView", False),
    ("souverain.model", "from ..kb import base", True),
    ("souverain.kb.view", "from souverain.errors import DataError", False),
    ("souverain.survey.runner", "from souverain.scan import scan_one", False),
])
def test_the_check_sees_every_form_of_import(module, source, bad):
    assert bool(violations(module, source, module.count(".") == 1)) is bad
