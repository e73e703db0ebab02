"""Per-service fingerprint fixtures: observations that must match a service, near misses that must not.

One file per service under ``tests/kb/fingerprints/`` (file name = service id). Each lists, by
fingerprint kind, values as attribution sees them: host names for the host kinds (restricted to
that kind, as attribution restricts them), URLs, TXT strings, CA organisation names, ASNs, and
response headers. A contributor who adds or changes a fingerprint adds a line here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from souverain.kb.base import load_kb
from souverain.kb.indexes import HOST_KINDS, Indexes, Match

FIXTURES = Path(__file__).parent / "fingerprints"
KINDS = (*HOST_KINDS, "url", "txt", "ca", "asn", "header")


def _cases() -> list[tuple[str, str, str, object]]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for expectation in ("must_match", "must_not_match"):
            for kind, values in (data.get(expectation) or {}).items():
                cases.extend((path.stem, expectation, kind, value) for value in values)
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def indexes() -> Indexes:
    return load_kb().indexes


def _match(idx: Indexes, kind: str, value: object) -> Match | None:
    if kind in HOST_KINDS:
        return idx.match_host(str(value), (kind,))
    if kind == "url":
        return idx.match_url(str(value))
    if kind == "txt":
        return idx.match_txt(str(value))
    if kind == "ca":
        return idx.match_ca(str(value))
    if kind == "asn":
        return idx.match_asn(int(value))  # type: ignore[call-overload]
    assert isinstance(value, dict), "header fixtures are {name: value} mappings"
    matches = idx.match_headers(value)
    return matches[0] if matches else None


def test_fixture_files_name_real_services_and_kinds() -> None:
    services = load_kb().services
    files = sorted(FIXTURES.glob("*.yaml"))
    assert len(files) >= 30
    for path in files:
        assert path.stem in services, f"{path.name}: no service {path.stem!r} in the KB"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data) <= {"must_match", "must_not_match"}, path.name
        assert data.get("must_match"), f"{path.name}: give at least one value that must match"
        assert data.get("must_not_match"), f"{path.name}: give at least one near miss"
        for section in data.values():
            assert set(section) <= set(KINDS), f"{path.name}: unknown kind in {sorted(section)}"


@pytest.mark.parametrize(("service", "expectation", "kind", "value"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_fingerprint_fixture(indexes: Indexes, service: str, expectation: str, kind: str, value: object) -> None:
    match = _match(indexes, kind, value)
    if expectation == "must_match":
        assert match is not None, f"{value!r} ({kind}) matched nothing; expected {service}"
        assert match.service == service, f"{value!r} ({kind}) matched {match.rule()}; expected {service}"
    else:
        assert match is None or match.service != service, f"{value!r} ({kind}) must not match {match.rule()}"
