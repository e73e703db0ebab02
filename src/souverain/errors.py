"""One exception root for the whole package; subclasses carry structured data."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


class SouverainError(Exception):
    """Base class: anything souverain raises on purpose."""

    exit_code = 1


class UsageError(SouverainError):
    """Bad command-line input or target (exit code 2)."""

    exit_code = 2


class DataError(SouverainError):
    """A data file (KB record, input list, bundled table) is missing or malformed (exit code 2)."""

    exit_code = 2


class KBValidationError(DataError):
    """The knowledge base has problems; ``problems`` lists them."""

    # the items are kb.problems.Problem, a layer above this module
    def __init__(self, problems: Sequence[Any], what: str = "the knowledge base") -> None:
        self.problems = problems
        first = problems[0] if problems else "no details"
        super().__init__(f"{what} has {len(problems)} problem(s), first: {first}")


class YAMLFileError(DataError):
    """A YAML file that cannot be read safely: ``path:line: problem``."""

    def __init__(self, path: object, line: int, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}:{line}: {problem}" if path is not None else f"line {line}: {problem}")


# greedy to the last "@" of the word: a password may hold an unescaped "@" (over-hiding is fine)
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^:/@\s'\"]*:)[^\s'\"]*@")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)[^&\s'\"]*", re.IGNORECASE)


_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a password met in a URL, so that ``redact`` hides it wherever it shows up."""
    if secret and len(secret) >= 3:  # shorter ones would blank out common letters
        _SECRETS.add(secret)


def redact(text: str, *secrets: str | None) -> str:
    """Hide credentials: ``scheme://user:***@host``, ``?password=***``, each of ``secrets`` and
    every registered secret."""
    for secret in sorted({*_SECRETS, *(s for s in secrets if s)}, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    return _QUERY_PASSWORD.sub(r"\g<head>***", text)
