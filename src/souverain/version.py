"""Versions printed by ``--version`` and stamped into every output, and the kind of build running.

``setup.py`` reads ``MYPYC_MODULES`` from this file without importing the package: it imports
nothing but the standard library.
"""

import importlib.machinery
import importlib.util
from importlib.metadata import PackageNotFoundError, version

try:
    CODE_VERSION = version("souverain")
except PackageNotFoundError:  # running from a source tree
    CODE_VERSION = "0.0.0+source"

OUTPUT_SCHEMA_VERSION = "1.1"  # JSON output contract (ARCHITECTURE.md); bump on breaking change

# compiled with mypyc by the default build (setup.py): the survey's per-domain work (DNS wire
# parser, evidence, attribution, row summary, KB look-ups). Their sources stay in the package:
# an install built pure (SOUVERAIN_MYPYC=0, no C compiler) runs them as Python.
MYPYC_MODULES = (
    "souverain.collect.dnswire",
    "souverain.collect.dns",
    "souverain.collect.domain",
    "souverain.collect.spf",
    "souverain.collect.observation",
    "souverain.collect.reporting",
    "souverain.attribute.mail",
    "souverain.attribute.hosts",
    "souverain.attribute.dns_hosting",
    "souverain.attribute.networks",
    "souverain.attribute.domain",
    "souverain.attribute.dependency",
    "souverain.attribute.saas",
    "souverain.attribute.reporting",
    "souverain.kb.hostnames",
    "souverain.kb.ipasn",
    "souverain.kb.indexes",
    "souverain.kb.psl",
)


def compiled_modules() -> list[str]:
    """The modules of ``MYPYC_MODULES`` that import from a C extension, found without importing
    them (the import system prefers an extension module to the source file beside it)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = []
    for name in MYPYC_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None and spec.origin.endswith(suffixes):
            found.append(name)
    return found


def build_kind() -> str:
    """``compiled: 18 modules (mypyc)`` or ``pure Python``: what ``--version`` and a survey show."""
    compiled = compiled_modules()
    return f"compiled: {len(compiled)} modules (mypyc)" if compiled else "pure Python"
