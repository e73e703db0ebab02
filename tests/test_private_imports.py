"""No module of souverain reaches into another module's private names (``_name``).

A name starting with ``_`` is free to change with its module; another module that imports it, or
reads it as ``module._name``, breaks silently when it does. A helper two modules need is public in
the module that owns it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"
PACKAGE = SRC / "souverain"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """Where ``source`` (the text of ``module``) uses another souverain module's private names."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> souverain module it stands for
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "souverain":
                    continue
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases.setdefault("souverain", "souverain")
                if alias.name != module and any(_private(p) for p in alias.name.split(".")):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            source_module = _absolute(module, node, is_package)
            if source_module.split(".")[0] != "souverain" or source_module == module:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {source_module} import {alias.name}")
                else:
                    aliases[alias.asname or alias.name] = f"{source_module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            dotted = _dotted(node.value)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            if head not in aliases:
                continue
            target = ".".join(filter(None, [aliases[head], rest]))
            if target != module and _is_module(target):
                found.append(f"line {node.lineno}: {dotted}.{node.attr}")
    return found


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names, None for anything else (a call, a subscript...)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_uses_another_modules_private_names(path: Path):
    uses = private_uses(path.read_text(encoding="utf-8"), _module_name(path),
                        path.name == "__init__.py")
    assert not uses, f"{path.relative_to(SRC)} uses private names of other modules: {uses}"


@pytest.mark.parametrize("source", [
    "from souverain.collect.web import _describe",
    "from souverain.collect.web import ConnectMap, _ip_literals as ips",
    "from .web import _describe",
    "from . import _private_module",
    "import souverain.collect._hidden",
    "import souverain.collect.web\nsouverain.collect.web._describe(1)",
    "import souverain.collect.web as web\nweb._describe(1)",
    "from souverain.collect import web\nweb._describe(1)",
    "from souverain.collect import web\nx = web._READ_SIZE",
])
def test_the_check_sees_each_way_of_reaching_a_private_name(source: str):
    assert private_uses(source, "souverain.collect.proxy")


@pytest.mark.parametrize("source", [
    "from souverain.collect.web import ConnectMap, describe",
    "def f(x):\n    return x._private",  # an object's attribute, not a module's
    "import souverain.collect.web as web\nweb.describe(1).__class__",
    "from souverain.collect import web\nweb.ConnectMap._parse",  # a class's, not a module's
    "from asyncio import _get_running_loop",  # not ours
    "_LOCAL = 1\nprint(_LOCAL)",
])
def test_the_check_allows_public_names_and_own_privates(source: str):
    assert not private_uses(source, "souverain.collect.proxy")
