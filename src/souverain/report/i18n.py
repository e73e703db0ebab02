"""Message catalogues: text shown to people comes from ``messages/<lang>.yaml`` by message id."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from souverain.errors import UsageError

MESSAGES = Path(__file__).parent / "messages"
LANGUAGES = ("en", "fr")


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise UsageError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    with (MESSAGES / f"{lang}.yaml").open(encoding="utf-8") as handle:
        return {str(k): str(v) for k, v in yaml.safe_load(handle).items()}


class Translator:
    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self.messages = catalogue(lang)

    def __call__(self, key: str, **values: object) -> str:
        text = self.messages.get(key) or catalogue("en").get(key)
        if text is None:
            raise KeyError(f"message id {key!r} is in no catalogue")
        return text.format_map(_Lenient(values)) if "{" in text else text


class _Lenient(dict):
    """Missing template values show as "?" instead of raising (a report must never crash)."""

    def __missing__(self, key: str) -> str:
        return "?"
