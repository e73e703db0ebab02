"""A JSON inventory read with bounded memory: the arrays that can be huge (HAR entries, SBOM
components and packages, Terraform resources) are streamed element by element, the parts a reader
does not use are skipped element by element, and only the small rest is built as a document.

A reader names its ``streams`` (arrays) and what else it ``keep``s, by key path. The first pass
builds the document with each streamed array replaced by a ``JSONStream``; iterating a stream
reads the file again up to that array and decodes one element at a time with the C decoder
(``json.JSONDecoder.raw_decode``). No single element, kept part or skipped element may exceed
``MAX_ELEMENT`` characters: memory is bounded by that, whatever the file's size.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Self, TextIO

from souverain.errors import DataError

MAX_ELEMENT = 32 * 1024 * 1024  # characters of one element decoded at a time
_CHUNK = 1024 * 1024
_DECODER = json.JSONDecoder()
Key = tuple[str, ...]


class JSONStream:
    """The elements of one array of a JSON file, read lazily (each iteration reads the file again)."""

    def __init__(self, reader: StreamedJSON, path: Key) -> None:
        self.reader, self.path = reader, path

    def __iter__(self) -> Iterator[Any]:
        return self.reader.elements(self.path)

    def __repr__(self) -> str:
        return f"JSONStream({'/'.join(self.path)})"


class StreamedJSON:
    def __init__(self, path: Path, streams: tuple[Key, ...], keep: tuple[Key, ...] = (),
                 max_element: int | None = None) -> None:
        self.path, self.streams, self.keep = path, frozenset(streams), frozenset(keep)
        self.max_element = max_element or MAX_ELEMENT
        self._prefixes = {key[:n] for key in (*streams, *keep) for n in range(len(key))}

    def document(self) -> Any:
        """The document, each streamed array replaced by a ``JSONStream``, skipped parts left out."""
        with _Source.open(self.path, self.max_element) as source:
            walk = self._walk(source, (), None)
            try:
                while True:
                    next(walk)
            except StopIteration as done:
                document = done.value
            source.end()
        return document

    def elements(self, target: Key) -> Iterator[Any]:
        with _Source.open(self.path, self.max_element) as source:
            yield from self._walk(source, (), target)

    def _mode(self, key: Key) -> str:
        if key in self.streams:
            return "stream"
        if key in self._prefixes:
            return "descend"
        if any(key[:n] in self.keep for n in range(len(key) + 1)):
            return "keep"
        return "skip"

    def _walk(self, source: _Source, key: Key, target: Key | None) -> Generator[Any, None, Any]:
        """The value at ``key``; yields the elements of ``target`` when it gets there, and stops
        reading the file once it has (a target's walk never returns normally)."""
        mode = self._mode(key) if key else "descend"
        char = source.peek()
        if mode == "stream" and char == "[":
            if key == target:
                yield from source.array(yielding=True)
                raise _Done
            yield from source.array(yielding=False)
            return JSONStream(self, key)
        if mode == "descend" and char == "{":
            found: dict[str, Any] = {}
            for name in source.members():
                child = (*key, name)
                if self._mode(child) == "skip":
                    source.skip()
                else:
                    found[name] = yield from self._walk(source, child, target)
            return found
        if mode == "skip" or mode == "keep" and target is not None:  # kept parts were read by document()
            source.skip()
            return None
        return source.value()


class _Done(Exception):
    """The streamed array was read to its end: nothing after it is needed."""


class _Source:
    """Text read in chunks, with the line of any position for error messages."""

    def __init__(self, handle: TextIO, path: Path, max_element: int) -> None:
        self.handle, self.path, self.max_element = handle, path, max_element
        self.buffer, self.pos, self.eof, self.lines = "", 0, False, 0

    @classmethod
    def open(cls, path: Path, max_element: int) -> _Source:
        try:
            return cls(path.open(encoding="utf-8-sig"), path, max_element)
        except OSError as exc:
            raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        self.handle.close()
        return kind is _Done

    def _fill(self, at_least: int = 1) -> bool:
        """Read more text (dropping what was consumed); False at the end of the file."""
        if self.eof:
            return False
        if self.pos:
            self.lines += self.buffer.count("\n", 0, self.pos)
            self.buffer, self.pos = self.buffer[self.pos:], 0
        try:
            chunk = self.handle.read(max(_CHUNK, at_least))
        except UnicodeDecodeError as exc:
            raise DataError(f"{self.path}:{self.line()}: not UTF-8 text ({exc.reason})") from exc
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def line(self, pos: int | None = None) -> int:
        return self.lines + self.buffer.count("\n", 0, self.pos if pos is None else pos) + 1

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buffer) or not self._fill():
                return self.buffer[self.pos:self.pos + 1]

    def take(self, expected: str) -> str:
        char = self.peek()
        if char not in expected:
            what = repr(char) if char else "the end of the file"
            raise DataError(f"{self.path}:{self.line()}: not valid JSON: expected {' or '.join(map(repr, expected))}, "
                            f"found {what}")
        self.pos += 1
        return char

    def value(self) -> Any:
        """One JSON value decoded whole (at most ``max_element`` characters)."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                # a value cut by the end of the buffer fails near that end (or as an unterminated
                # string): read on; an error well before it is the file's own
                cut = exc.pos >= len(self.buffer) - 1 or exc.msg.startswith("Unterminated string")
                if cut and self._grow():
                    continue
                raise DataError(f"{self.path}:{self.line(exc.pos)}: not valid JSON: {exc.msg}") from exc
            except RecursionError as exc:
                raise DataError(f"{self.path}:{self.line()}: nested too deep to be an inventory") from exc
            if end == len(self.buffer) and self._grow():
                continue  # a number cut at the end of the buffer may go on
            self.pos = end
            return value

    def _grow(self) -> bool:
        """Read at least as much again as is buffered; False at the end of the file."""
        held = len(self.buffer) - self.pos
        if self.eof:
            return False
        if held > self.max_element:
            raise DataError(f"{self.path}:{self.line()}: one element is larger than {self.max_element:,} characters "
                            "(souverain decodes a JSON inventory one array element at a time)")
        return self._fill(held)

    def array(self, yielding: bool) -> Iterator[Any]:
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            value = self.value()
            if yielding:
                yield value
            if self.take(",]") == "]":
                return

    def members(self) -> Iterator[str]:
        """The keys of an object, positioned before each value in turn."""
        self.take("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                self.take('"')
            name = self.value()
            self.take(":")
            yield name
            if self.take(",}") == "}":
                return

    def skip(self) -> None:
        """Pass over one value, container elements one at a time."""
        char = self.peek()
        if char == "[":
            for _ in self.array(yielding=False):
                pass
        elif char == "{":
            for _ in self.members():
                self.value()
        else:
            self.value()

    def end(self) -> None:
        if self.peek():
            raise DataError(f"{self.path}:{self.line()}: not valid JSON: extra data after the document")
