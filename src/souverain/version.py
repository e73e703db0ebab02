"""Versions printed by ``--version`` and stamped into every output."""

from importlib.metadata import PackageNotFoundError, version

try:
    CODE_VERSION = version("souverain")
except PackageNotFoundError:  # running from a source tree
    CODE_VERSION = "0.0.0+source"

OUTPUT_SCHEMA_VERSION = "1.1"  # JSON output contract (ARCHITECTURE.md); bump on breaking change
