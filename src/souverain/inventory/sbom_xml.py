"""CycloneDX XML (cyclonedx.org/docs/1.6/xml): the same fields as the JSON form (``sbom``), in
the ``http://cyclonedx.org/schema/bom/1.x`` namespace. Locations are element paths
(``/bom/components/component[2]``), 1-based like XPath.

Streamed: expat reads the file a chunk at a time and only the fields a dependency needs are
kept, so memory does not grow with the file. A component is yielded when it ends, after the
components nested in it (every field is read whatever its order). A document type declaration
is refused outright (no entity of any kind is expanded or fetched); a tag or comment that expat
would have to hold whole is bounded by ``MAX_TOKEN``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from xml.parsers import expat

from souverain.errors import DataError
from souverain.inventory import items as limits
from souverain.inventory.items import Item, clip
from souverain.inventory.jsonfile import MAX_DEPTH

_NAMESPACE = re.compile(r"http://cyclonedx\.org/schema/bom/1\.\d+")
_SEP = "}"  # expat names elements "namespace}local"
_CHUNK = 1024 * 1024
MAX_TOKEN = 32 * 1024 * 1024  # bytes of one tag or comment expat buffers before it reports it
MAX_ELEMENT_DEPTH = 4 * MAX_DEPTH + 8  # open elements at once (the components' own depth is MAX_DEPTH)
# the fields read, by path below a component or service; endpoints are a list
_FIELDS = {
    "component": {("name",), ("version",), ("purl",), ("publisher",), ("author",), ("supplier", "name"),
                  ("manufacturer", "name")},
    "service": {("name",), ("provider", "name"), ("endpoints", "endpoint")},
}
_LISTS = {"components": "component", "services": "service"}  # list element -> its records


@dataclasses.dataclass
class _Record:
    kind: str  # component | service
    at: str
    fields: dict[tuple[str, ...], list[str]] = dataclasses.field(default_factory=dict)

    def first(self, *path: str) -> str:
        values = self.fields.get(path)
        return clip(values[0]) if values else ""


@dataclasses.dataclass
class _Frame:
    """An open element: a list (``components``/``services``), a record, or anything else."""

    local: str
    where: str = ""  # element path of a list or record
    count: int = 0  # records seen in this list
    record: _Record | None = None  # the innermost record this element is a part of
    rel: tuple[str, ...] = ()  # its path below that record
    text: list[str] | None = None  # the text of a field being read
    size: int = 0


def read_cyclonedx_xml(path: Path) -> Iterator[Item]:
    limits.check_file(path, limits.MAX_BYTES)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    with handle:
        reader = _Reader(path)
        while True:
            try:
                chunk = handle.read(_CHUNK)
            except OSError as exc:
                raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
            reader.feed(chunk, final=not chunk)
            yield from reader.ready
            reader.ready.clear()
            if not chunk:
                return


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.parser = parser = expat.ParserCreate(namespace_separator=_SEP)
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.buffer_text = True  # one call per text node, not one per line
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
        parser.StartDoctypeDeclHandler = self.refuse_declaration
        parser.EntityDeclHandler = self.refuse_declaration
        parser.CommentHandler = parser.ProcessingInstructionHandler = self.seen
        self.stack: list[_Frame] = []
        self.skipping = 0  # depth inside an element nothing is read below (no frame kept for those)
        self.namespace = ""
        self.ready: list[Item] = []
        self.fed = 0
        self.last_event = 0  # byte offset of the last thing expat reported

    def feed(self, chunk: bytes, final: bool) -> None:
        self.fed += len(chunk)
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            raise DataError(f"{self.path}:{exc.lineno}: not valid XML: {expat.ErrorString(exc.code)}") from exc
        if self.fed - self.last_event > MAX_TOKEN:
            raise DataError(f"{self.path}:{self.parser.CurrentLineNumber}: one XML tag or comment is larger than "
                            f"{MAX_TOKEN:,} bytes")

    def fail(self, problem: str) -> DataError:
        return DataError(f"{self.path}:{self.parser.CurrentLineNumber}: {problem}")

    def seen(self, *_args: object) -> None:
        self.last_event = self.parser.CurrentByteIndex

    def refuse_declaration(self, *_args: object) -> None:
        raise self.fail("a document type declaration is not allowed in an SBOM")

    def start(self, name: str, _attributes: dict[str, str]) -> None:
        self.last_event = self.parser.CurrentByteIndex
        stack = self.stack
        if self.skipping:
            self.skipping += 1
            if len(stack) + self.skipping > MAX_ELEMENT_DEPTH:
                raise self.fail(f"elements nested more than {MAX_ELEMENT_DEPTH} deep")
            return
        namespace, _, local = name.rpartition(_SEP)
        if not stack:
            if local != "bom" or not _NAMESPACE.fullmatch(namespace):
                raise self.fail("not a CycloneDX XML document (the root is not a CycloneDX <bom>)")
            self.namespace = namespace
            stack.append(_Frame("bom", "/bom"))
            return
        if len(stack) >= MAX_ELEMENT_DEPTH:
            raise self.fail(f"elements nested more than {MAX_ELEMENT_DEPTH} deep")
        parent = stack[-1]
        ours = namespace == self.namespace
        if ours and parent.where and parent.record is None and _LISTS.get(parent.local) == local:
            parent.count += 1  # a component of a <components>, a service of a <services>
            depth = sum(1 for frame in stack if frame.local == parent.local)
            if depth > MAX_DEPTH + 1:
                raise DataError(f"{self.path}#{parent.where}: {parent.local} nested more than {MAX_DEPTH} deep")
            new = _Record(local, f"{parent.where}/{local}[{parent.count}]")
            stack.append(_Frame(local, new.at, record=new))
            return
        record = parent.record
        if ours and local in _LISTS and parent.rel == () and (
                len(stack) == 1 or record is not None and _LISTS[local] == record.kind):
            stack.append(_Frame(local, f"{parent.where}/{local}"))  # the list's records are its own
            return
        if record is None or len(parent.rel) >= 2 or not ours:
            self.skipping = 1  # nothing read below it
            return
        rel = (*parent.rel, local)
        wanted = rel in _FIELDS[record.kind]
        stack.append(_Frame(local, record=record, rel=rel, text=[] if wanted else None))

    def characters(self, data: str) -> None:
        self.last_event = self.parser.CurrentByteIndex
        if self.skipping or not self.stack:
            return
        frame = self.stack[-1]
        if frame.text is not None and frame.size < limits.MAX_FIELD:
            frame.text.append(data[:limits.MAX_FIELD - frame.size])
            frame.size += len(data)

    def end(self, _name: str) -> None:
        self.last_event = self.parser.CurrentByteIndex
        if self.skipping:
            self.skipping -= 1
            return
        frame = self.stack.pop()
        record = frame.record
        if record is None:
            return
        if frame.text is not None:
            record.fields.setdefault(frame.rel, []).append("".join(frame.text))
        elif frame.rel == () and frame.where == record.at:
            self.ready.append(_item(self.path, record))


def _item(path: Path, record: _Record) -> Item:
    if record.kind == "component":
        supplier = record.first("supplier", "name") or record.first("manufacturer", "name") \
            or record.first("publisher") or None
        label = record.first("name") or record.first("purl") or "?"
        version = record.first("version")
        author = record.first("author")
        return Item("cyclonedx", "software.supplier", "component", f"{label}@{version}" if version else label,
                    f"{path}#{record.at}", purl=record.first("purl") or None, supplier=supplier,
                    names=(author,) if author else ())
    urls = tuple(url for url in map(clip, record.fields.get(("endpoints", "endpoint"), ())) if url)
    return Item("cyclonedx", "saas", "service", record.first("name") or (urls[0] if urls else "?"),
                f"{path}#{record.at}", supplier=record.first("provider", "name") or None, urls=urls)
