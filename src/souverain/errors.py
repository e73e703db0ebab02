"""One exception root for the whole package; subclasses carry structured data."""

from __future__ import annotations


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

    def __init__(self, problems: list, what: str = "the knowledge base") -> None:
        self.problems = problems
        first = problems[0] if problems else "no details"
        super().__init__(f"{what} has {len(problems)} problem(s), first: {first}")
