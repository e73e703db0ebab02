"""A spreadsheet's ZIP container and XML members read defensively: bounded uncompressed size per
member (a zip bomb stops at the cap, whatever its header claims), no DTD (no entity expansion),
truncated or corrupt archives as ``DataError`` naming the file and the member."""

from __future__ import annotations

import dataclasses
import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from xml.parsers import expat

from souverain.errors import DataError

START, END, TEXT = 0, 1, 2
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_CHUNK = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one spreadsheet may hold before it is refused (cells over ``max_cell`` are cut)."""

    max_member_bytes: int = 512 * 1024 * 1024  # uncompressed XML of one member
    max_members: int = 10_000
    max_rows: int = 1_048_576  # Excel's own row limit
    max_columns: int = 16_384  # Excel's own column limit (XFD)
    max_cells: int = 20_000_000  # non-empty cells over the whole sheet (ODS repeats included)
    max_cell: int = 64 * 1024  # characters of one cell
    max_shared_chars: int = 64 * 1024 * 1024  # XLSX shared strings are held in memory


class Archive:
    """An opened spreadsheet ZIP; ``events`` streams one XML member."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path, self.limits = path, limits
        try:
            self.zip = zipfile.ZipFile(path)
            names = self.zip.namelist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable spreadsheet (truncated or corrupt ZIP: {exc})") from exc
        if len(names) > limits.max_members:
            self.zip.close()
            raise DataError(f"{path}: a ZIP with {len(names):,} members is not a spreadsheet souverain reads "
                            f"(the limit is {limits.max_members:,})")
        self.names = set(names)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.zip.close()

    def kind(self) -> str | None:
        if "xl/workbook.xml" in self.names or "[Content_Types].xml" in self.names and any(
                name.startswith("xl/") for name in self.names):
            return "xlsx"
        if "mimetype" in self.names and "content.xml" in self.names:
            with self._open("mimetype") as handle:
                if handle.read(len(ODS_MIMETYPE) + 1).strip() == ODS_MIMETYPE:
                    return "ods"
        return None

    def has(self, member: str) -> bool:
        return member in self.names

    def events(self, member: str) -> Iterator[tuple[int, str, Any]]:
        """``(START, local name, attributes by local name)``, ``(END, local name, None)`` and
        ``(TEXT, text, None)`` of one member, streamed in chunks."""
        where = f"{self.path}[{member}]"
        pending: list[tuple[int, str, Any]] = []
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True

        def refuse(*_: object) -> None:
            raise DataError(f"{where}: XML with a document type declaration (DTD) is refused: a spreadsheet "
                            "has none, and its entities could expand without bound")

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        parser.StartElementHandler = lambda name, attrs: pending.append(
            (START, name.rpartition(" ")[2], {key.rpartition(" ")[2]: value for key, value in attrs.items()}))
        parser.EndElementHandler = lambda name: pending.append((END, name.rpartition(" ")[2], None))
        parser.CharacterDataHandler = lambda text: pending.append((TEXT, text, None))
        read = 0
        with self._open(member) as handle:
            while True:
                try:
                    chunk = handle.read(_CHUNK)
                except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
                    raise DataError(f"{where}: truncated or corrupt ({exc})") from exc
                read += len(chunk)
                if read > self.limits.max_member_bytes:
                    raise DataError(f"{where}: more than {self.limits.max_member_bytes:,} bytes once uncompressed "
                                    "(a zip bomb, or a sheet too large for souverain)")
                try:
                    parser.Parse(chunk, not chunk)
                except expat.ExpatError as exc:
                    raise DataError(f"{where}:{exc.lineno}: not well-formed XML "
                                    f"({expat.ErrorString(exc.code)})") from exc
                yield from pending
                pending.clear()
                if not chunk:
                    return

    def _open(self, member: str) -> IO[bytes]:
        try:
            info = self.zip.getinfo(member)
        except KeyError:
            raise DataError(f"{self.path}: the spreadsheet has no {member} (truncated, or not a spreadsheet)") from None
        if info.file_size > self.limits.max_member_bytes:
            raise DataError(f"{self.path}[{member}]: {info.file_size:,} bytes once uncompressed; the limit is "
                            f"{self.limits.max_member_bytes:,} (a zip bomb, or a sheet too large for souverain)")
        if info.flag_bits & 0x1:
            raise DataError(f"{self.path}[{member}]: encrypted; save the spreadsheet without a password")
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{self.path}[{member}]: cannot be read ({exc})") from exc


def open_zip(path: Path, limits: Limits) -> Archive:
    return Archive(path, limits)


def join(base: str, target: str) -> str:
    """A relationship's target as a member name: absolute (``/xl/...``) or relative to ``base``."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base, target))
