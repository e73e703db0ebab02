"""Reuse the loopback test world of the scan tests."""

from tests.scan.conftest import ip_table, scan_world  # noqa: F401
