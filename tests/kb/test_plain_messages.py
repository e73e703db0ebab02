"""Validation problems read as plain words with their file and line, never as regexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from souverain.errors import KBValidationError
from souverain.kb.base import load_kb

RECORD = """id: {id}
name: X
country: {country}
type: {type}
{extra}sources:
  - url: {url}
    title: X register extract
    retrieved: 2026-12-07
as_of: 2026-12-07
"""


def problems_of(mini_kb_dir: Path, **fields: str) -> list[str]:
    values = {"id": "x-co", "country": "FR", "type": "company", "extra": "", "url": "https://example.org/x"}
    values.update(fields)
    kb_dir = mini_kb_dir
    (kb_dir / "entities" / f"{values['id']}.yaml").write_text(RECORD.format(**values), encoding="utf-8")
    with pytest.raises(KBValidationError) as caught:
        load_kb(kb_dir)
    return [str(p) for p in caught.value.problems if values["id"] in str(p)]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"country": "France"}, "country: must be a two-letter ISO country code in capitals, such as FR (got 'France')"),
    ({"type": "compagny"}, "type: must be one of 'company', "),
    ({"url": "notaurl"}, "sources[0].url: must be a web address starting with https:// (got 'notaurl')"),
    ({"extra": "colour: blue\n"}, "colour: is not a known field (got 'blue')"),
    ({"extra": "lei: abc\n"}, "lei: must be a 20-character Legal Entity Identifier"),
    ({"id": "Bad_Id"}, "id: must be a lowercase id (letters, digits, '.', '-', '_'"),
    ({"extra": "owners:\n  - owner: amazon\n    capital_pct: 150\n    since: 2020-01-01\n"},
     "owners[0].capital_pct: must be at most 100"),
])
def test_problems_in_plain_words(mini_kb_dir, fields, expected):
    found = problems_of(mini_kb_dir, **fields)
    assert any(expected in line for line in found), found
    assert not any("should match pattern" in line or "^[" in line for line in found), found
    assert all(line.split(":")[1].isdigit() for line in found), found  # path:line: ...
