"""Read KB records from YAML into validated models, collecting problems instead of stopping."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from pydantic import ValidationError

from souverain.errors import YAMLFileError
from souverain.kb import yamlio
from souverain.kb.messages import plain
from souverain.kb.problems import Loc, Problem, display_path, format_field, line_of
from souverain.kb.schema import KINDS, Record

DATA_DIR = Path(__file__).parent / "data"


@dataclasses.dataclass
class RawRecord:
    kind: str
    path: Path
    shown_path: str
    lines: dict[Loc, int]
    record: Record | None


@dataclasses.dataclass
class LoadResult:
    records: list[RawRecord]
    problems: list[Problem]
    digest: str


def load_records(root: Path = DATA_DIR) -> LoadResult:
    records: list[RawRecord] = []
    problems: list[Problem] = []
    digest = hashlib.sha256()
    if not root.is_dir():
        problems.append(Problem(str(root), 1, "(kb)", "knowledge-base folder not found"))
        return LoadResult(records, problems, digest.hexdigest())
    for kind_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if kind_dir.name not in KINDS:
            if any(kind_dir.glob("*.yaml")):
                problems.append(
                    Problem(display_path(kind_dir, root), 1, "(folder)", f"unknown record kind {kind_dir.name!r}")
                )
            continue
        for path in sorted(kind_dir.iterdir()):
            shown = display_path(path, root)
            if path.suffix in (".yml", ".json"):
                problems.append(Problem(shown, 1, "(file)", "records must be .yaml files"))
                continue
            if path.suffix != ".yaml":
                continue
            digest.update(path.name.encode())
            records.append(_read_one(kind_dir.name, path, shown, problems, digest))
    return LoadResult(records, problems, digest.hexdigest())


def _read_one(kind: str, path: Path, shown: str, problems: list[Problem], digest: hashlib._Hash) -> RawRecord:
    try:
        raw = yamlio.read_bytes(path)
        digest.update(raw)
        document = yamlio.parse(raw, shown)
    except YAMLFileError as exc:  # unreadable, too large, not UTF-8, not YAML, an alias...
        problems.append(Problem.of_file(shown, exc))
        return RawRecord(kind, path, shown, {}, None)
    lines, data = document.lines, document.data
    for loc, line, message in document.duplicates:
        problems.append(Problem(shown, line, format_field(loc), message))
    if not isinstance(data, dict):
        problems.append(Problem(shown, 1, "(record)", "a record must be a YAML mapping"))
        return RawRecord(kind, path, shown, lines, None)
    record = None
    try:
        record = KINDS[kind].model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(Problem(shown, line_of(lines, loc), format_field(loc), plain(error)))
    if data.get("id") != path.stem:
        problems.append(
            Problem(shown, line_of(lines, ("id",)), "id", f"id {data.get('id')!r} differs from file name {path.stem!r}")
        )
    return RawRecord(kind, path, shown, lines, record)
