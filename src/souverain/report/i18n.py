"""Message catalogues: text shown to people comes from ``messages/<lang>.yaml`` by message id, and
the display names of KB things (laws, functions, regions) and of countries in the same language.

KB display names reach the report layer as plain data (``kb.display.display_names``, passed by the
caller): the report layer does not read the KB itself. Country names are bundled
(``data/countries.json``, Unicode CLDR).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import overload

import yaml

from souverain.errors import UsageError

MESSAGES = Path(__file__).parent / "messages"
COUNTRIES = Path(__file__).parent / "data" / "countries.json"
LANGUAGES = ("en", "fr")
# kind -> id -> {"en": ..., "fr": ..., "short_en": ..., "short_fr": ...} (missing keys fall back)
DisplayNames = Mapping[str, Mapping[str, Mapping[str, str]]]


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise UsageError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    with (MESSAGES / f"{lang}.yaml").open(encoding="utf-8") as handle:
        return {str(k): str(v) for k, v in yaml.safe_load(handle).items()}


@functools.cache
def countries() -> dict[str, dict[str, str]]:
    return json.loads(COUNTRIES.read_text(encoding="utf-8"))["names"]


# the English terms of ChainLink.describe_edge: "51 % votes", "board majority", "control" (alone in
# a link's parentheses: "(US, control)", or a holding of its own)
_EDGE_TERMS = re.compile(r"(?P<votes>\d+(?:\.\d+)?) % votes\b|\bboard majority\b|(?:(?<=[(, \[])|^)control(?=[)\]]|$)")


class Translator:
    def __init__(self, lang: str = "en", names: DisplayNames | None = None) -> None:
        self.lang = lang
        self.messages = catalogue(lang)
        self.names: DisplayNames = names or {}

    def __call__(self, key: str, **values: object) -> str:
        text = self.messages.get(key) or catalogue("en").get(key)
        if text is None:
            raise KeyError(f"message id {key!r} is in no catalogue")
        if "{" not in text:
            return text
        text = text.format_map(_Lenient(values))
        return _elide(text) if self.lang == "fr" else text  # a value put after "de" may need "d'"

    def _name(self, kind: str, ident: str, short: bool = False) -> str | None:
        entry = self.names.get(kind, {}).get(ident)
        if not entry:
            return None
        keys = ([f"short_{self.lang}", "short_en"] if short else []) + [self.lang, "en"]
        return next((entry[k] for k in keys if entry.get(k)), None)

    def name(self, kind: str, ident: str, fallback: str) -> str:
        """A KB text of ``kind`` (``criteria``, ``options``, ``objectives``, ``profiles``...) in the language."""
        return self._name(kind, ident) or fallback

    def law(self, law_id: str, short: bool = False, fallback: str | None = None) -> str:
        """A law's name (``short``: the form tables use); ``fallback`` (e.g. the English name a
        result carries), else the id, when the caller gave no names for it."""
        return self._name("laws", law_id, short) or fallback or law_id

    def laws(self, law_ids: object, short: bool = True) -> str:
        return ", ".join(self.law(str(i), short) for i in law_ids) or "-"  # type: ignore[attr-defined]

    def record(self, record_id: str) -> str:
        """A law's short name or a function's name for its id; any other record id as it is."""
        return self._name("laws", record_id, short=True) or self._name("functions", record_id) or record_id

    def function(self, function_id: str, fallback: str | None = None) -> str:
        return self._name("functions", function_id) or fallback or function_id

    def region(self, region_id: str) -> str:
        return self._name("regions", region_id) or region_id

    @overload
    def path(self, text: str) -> str: ...

    @overload
    def path(self, text: None) -> None: ...

    def path(self, text: str | None) -> str | None:
        """An ownership chain or law path (``chain_text``, ``path_text``, a link's ``holding``) with
        the terms ``kb.ownership.ChainLink.describe_edge`` writes in English worded in this language."""
        if not text or self.lang == "en":
            return text

        def word(match: re.Match[str]) -> str:
            if match.group("votes"):
                return self("ownership.votes", pct=match.group("votes"))
            return self("ownership.board_majority" if match.group(0) == "board majority" else "ownership.control")

        return _EDGE_TERMS.sub(word, text)

    def country(self, code: str | None) -> str:
        """``FR`` -> "France"; an unknown code stays as it is (``?`` when there is none)."""
        if not code:
            return "?"
        names = countries().get(code.upper())
        return names.get(self.lang) or names["en"] if names else code

    def token(self, kind: str, value: object) -> str:
        """An enum value shown to people (``effect.compels-access``, ``confidence.high``...); a value
        the catalogues do not know is shown as it is rather than failing the report."""
        key = f"{kind}.{value}"
        return self(key) if key in self.messages or key in catalogue("en") else str(value)

    def elide(self, text: str) -> str:
        """French elision after "de"/"le"/"que": "de Amazon" -> "d'Amazon" (no-op in English)."""
        return _elide(text) if self.lang == "fr" else text


# "de Amazon" -> "d'Amazon": only before a vowel (y and h vary: "de Yahoo", "de Hetzner" stay)
_ELISION = re.compile(r"\b([dDlL]|[qQ]u)e ([aeiouàâäéèêëîïôöûüœAEIOUÀÂÄÉÈÊËÎÏÔÖÛÜŒ])")


def _elide(text: str) -> str:
    return _ELISION.sub(r"\1'\2", text)


class _Lenient(dict):
    """Missing template values show as "?" instead of raising (a report must never crash)."""

    def __missing__(self, key: str) -> str:
        return "?"
