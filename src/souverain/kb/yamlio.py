"""YAML reading for KB records and answers files: YAML 1.2 booleans, line numbers for every field
path, and limits that make a hostile file fail fast with ``path:line: problem``.

PyYAML follows YAML 1.1, where ``NO`` (Norway) and ``on`` are booleans; country codes make
that a real hazard, so only ``true``/``false`` are booleans here.

Aliases are refused, not expanded: "billion laughs" (nested aliases), a recursive alias
(``a: &a [*a]``) and merge keys all expand to far more than the file holds, and no record
needs them. The check runs on the event stream, before anything is composed, so a bomb costs
one linear pass over its text. Nesting depth is bounded in the same pass (libyaml's composer
recurses and crashes the process on ``[[[[...`` a few hundred thousand deep), and the file
size is bounded before it is read.
"""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from souverain.errors import YAMLFileError

if TYPE_CHECKING:  # the C loader has the same interface
    _Base = yaml.SafeLoader
else:  # libyaml is ~10x faster when the wheel has it (depends on the PyYAML build)
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 2 * 1024 * 1024  # the largest bundled record is ~50 kB
MAX_DEPTH = 40  # the deepest bundled record nests 8 levels


class KBLoader(_Base):
    """Safe loader with YAML 1.2 booleans; out-of-range values are YAML errors with their line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # 2026-13-45, an int of 5,000 digits
            raise yaml.constructor.ConstructorError(None, None, f"bad value: {exc}", node.start_mark) from exc


KBLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in _Base.yaml_implicit_resolvers.copy().items()
}
KBLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclasses.dataclass
class Document:
    """A parsed file: its data, the line of every field path, and its duplicate keys."""

    data: Any
    lines: dict[tuple[str | int, ...], int]
    duplicates: list[tuple[tuple[str | int, ...], int, str]]  # (field path, line, message)


def read(path: Path, max_bytes: int = MAX_BYTES) -> Document:
    """Read and parse one YAML file; raise YAMLFileError (``path:line: problem``) when it is not
    a regular, small, UTF-8 text file holding one safe YAML document."""
    return parse(read_bytes(path, max_bytes), path)


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise YAMLFileError(path, 1, "not a regular file")
        if info.st_size > max_bytes:
            raise YAMLFileError(path, 1, f"file too large ({info.st_size:,} bytes; the limit is {max_bytes:,})")
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)  # the file may grow between stat and read
    except OSError as exc:
        raise YAMLFileError(path, 1, f"cannot read the file: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise YAMLFileError(path, 1, f"file too large (more than {max_bytes:,} bytes)")
    return raw


def parse(raw: bytes | str, path: Path | str | None = None) -> Document:
    text = raw if isinstance(raw, str) else decode(raw, path)
    _check_events(text, path)
    loader = KBLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[tuple[str | int, ...], int] = {}
        duplicates: list[tuple[tuple[str | int, ...], int, str]] = []
        if root is not None:
            _walk(root, (), lines, duplicates)
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise YAMLFileError(path, *_where(exc, text)) from exc
    finally:
        loader.dispose()
    return Document(data, lines, duplicates)


def decode(raw: bytes, path: Path | str | None = None) -> str:
    """UTF-8 text or YAMLFileError naming the line of the first byte that is not."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YAMLFileError(path, 1, "UTF-16 text; save the file as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise YAMLFileError(path, raw.count(b"\n", 0, nul) + 1, "binary data (a NUL byte), not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        problem = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise YAMLFileError(path, line, problem) from exc


def load(text: str) -> Any:
    """The data of one YAML text (with the same limits as ``read``)."""
    return parse(text).data


def _check_events(text: str, path: Path | str | None) -> None:
    """Refuse aliases and deep nesting on the event stream: linear, and nothing is expanded."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=KBLoader):
            if isinstance(event, yaml.AliasEvent):
                raise YAMLFileError(path, _line(event),
                                    f"alias *{event.anchor} is not allowed (write the value out)")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YAMLFileError(path, _line(event), f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise YAMLFileError(path, *_where(exc, text)) from exc


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _walk(node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int],
          duplicates: list[tuple[tuple[str | int, ...], int, str]]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    duplicates.append(((*path, key.value), line,
                                       f"duplicate key {key.value!r} (first on line {seen[key.value]})"))
                    continue
                seen[key.value] = line
            child = (*path, key.value)
            _walk(value, child, lines, duplicates)
            lines[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, duplicates)


def _where(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """(line, problem) of a PyYAML error, in one line."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        context = getattr(exc, "context", None)
        return mark.line + 1, " ".join((f"{context}: {problem}" if context else problem).split())
    position = getattr(exc, "position", None)  # ReaderError: a control character
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1, str(exc).split("\n")[0]
    return 1, str(exc).split("\n")[0]
