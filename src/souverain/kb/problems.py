"""A KB problem, reported as ``path:line: field: problem`` (``path:line: problem`` for the file)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from souverain.errors import YAMLFileError

# where a value sits in a record: keys and list indexes, outermost first
Loc = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        if not self.field:  # the file as a whole (unreadable, not YAML...)
            return f"{self.path}:{self.line}: {self.message}"
        return f"{self.path}:{self.line}: {self.field}: {self.message}"

    @classmethod
    def of_file(cls, shown: str, error: YAMLFileError) -> Problem:
        return cls(shown, error.line, "", error.problem)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def format_field(loc: Loc) -> str:
    """``('owners', 0, 'owner')`` -> ``owners[0].owner``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(record)"


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """Line of the deepest known prefix of ``loc`` (1 when nothing is known)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def display_path(path: Path, root: Path) -> str:
    """Relative to the working directory when inside it (clickable in editors), else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())
