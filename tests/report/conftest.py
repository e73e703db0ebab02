"""Reuse the loopback test world of the scan tests."""

from tests.scan.conftest import ip_table  # noqa: F401
