"""Message catalogues: same ids in every language, every id used in code exists, placeholders agree."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from souverain.report.i18n import LANGUAGES, MESSAGES

SRC = Path(__file__).parents[2] / "src" / "souverain"


def load(lang: str) -> dict[str, str]:
    return yaml.safe_load((MESSAGES / f"{lang}.yaml").read_text(encoding="utf-8"))


def test_same_ids_and_placeholders():
    base = load("en")
    for lang in LANGUAGES:
        other = load(lang)
        assert set(other) == set(base), (lang, set(base) ^ set(other))
        for key, text in base.items():
            assert set(re.findall(r"{(\w+)", text)) == set(re.findall(r"{(\w+)", other[key])), (lang, key)


def test_literal_message_ids_used_in_code_exist():
    ids = set(load("en"))
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r'\bt\("([a-z_.-]+)"', path.read_text(encoding="utf-8")))
    for path in (SRC / "report" / "templates").glob("*.j2"):
        used |= set(re.findall(r't\("([a-z_.-]+)"\)', path.read_text(encoding="utf-8")))
    missing = sorted(u for u in used if u not in ids)
    assert not missing, missing


def test_every_reason_produced_by_attribution_has_a_message():
    ids = set(load("en"))
    reasons = set()
    for path in (SRC / "attribute").glob("*.py"):
        reasons |= set(re.findall(r'reason="([a-z-]+)"', path.read_text(encoding="utf-8")))
    assert reasons and all(f"reason.{r}" in ids for r in reasons), sorted(r for r in reasons if f"reason.{r}" not in ids)
