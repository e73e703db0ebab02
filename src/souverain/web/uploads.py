"""Uploaded populations: a multipart body streamed straight into ``DATA/uploads/<random>.<ext>``
(never a temporary file elsewhere, never a name the client chose), with a size limit; the columns
of an upload for the mapping step.

An upload lives until its survey has registered its targets (the run then reads them from the
store, never the file again: ``survey_api.start`` deletes it), or until ``MAX_AGE`` seconds
without its mapping step: every new upload and every look-up of one first deletes those.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request

try:
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # python-multipart before 0.0.13
    from multipart.multipart import MultipartParser, parse_options_header  # type: ignore[no-redef,import-untyped]

from souverain.survey.inputs import DOMAIN_COLUMNS, detect_format

TABULAR = ("csv", "tsv", "jsonl", "ndjson", "txt", "list")
SPREADSHEETS = ("xlsx", "ods")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]+$")  # what new_file names: nothing else is swept
MAX_AGE = 3600.0  # seconds an upload waits for its column mapping before it is deleted
MAX_FIELD = 16 * 1024  # a text field of the form (names, CSRF token)


class UploadError(Exception):
    """A refused upload: ``status`` (400, 413, 415) and a message for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def extensions() -> tuple[str, ...]:
    """The file name extensions accepted: the text formats, and the spreadsheets when the survey
    input readers know them (the xlsx/ods readers are optional)."""
    known = tuple(ext for ext in SPREADSHEETS if detect_format(Path(f"x.{ext}")) == ext)
    return TABULAR + known


def folder(data_dir: Path) -> Path:
    path = (data_dir / "uploads").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sweep(data_dir: Path, max_age: float | None = None) -> int:
    """Delete the uploads left longer than ``max_age`` seconds (default ``MAX_AGE``) without a
    survey: a mapping step abandoned. How many were deleted."""
    limit = time.time() - (MAX_AGE if max_age is None else max_age)
    removed = 0
    for path in folder(data_dir).iterdir():
        if not UPLOAD_NAME.match(path.name):
            continue
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # deleted meanwhile (its survey registered it)
            continue
    return removed


def path_of(data_dir: Path, upload_id: str) -> Path:
    """The stored file of an upload id (UploadError 404 for a malformed, unknown or expired one)."""
    if not UPLOAD_ID.match(upload_id):
        raise UploadError(404, f"no upload {upload_id!r}")
    sweep(data_dir)
    for found in folder(data_dir).glob(f"{upload_id}.*"):
        return found
    raise UploadError(404, f"no upload {upload_id!r}")


def new_file(data_dir: Path, ext: str) -> Path:
    if ext not in extensions():
        raise UploadError(415, f"file type .{ext} is not accepted; use {', '.join('.' + e for e in extensions())}")
    sweep(data_dir)
    return folder(data_dir) / f"{secrets.token_hex(16)}.{ext}"


def write_text(data_dir: Path, ext: str, text: str) -> Path:
    path = new_file(data_dir, ext)
    path.write_text(text, encoding="utf-8")
    return path


async def receive(request: Request, data_dir: Path, limit: int) -> tuple[Path | None, dict[str, list[str]]]:
    """Stream a multipart/form-data body: its one file into the data folder (its extension kept,
    its name not), its text fields in memory. UploadError for a body over ``limit`` bytes, a
    second file, an unaccepted extension or a broken body; a partial file is deleted."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadError(400, "expected a multipart/form-data body with a file field")
    fields: dict[str, list[str]] = {}
    state: dict[str, Any] = {"headers": {}, "name": None, "file": None, "path": None, "value": bytearray(),
                             "field": b"", "header_value": b""}
    size = 0
    problem: list[UploadError] = []

    def on_part_begin() -> None:
        state.update(headers={}, name=None, file=None, value=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["header_value"]
        state["field"], state["header_value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        if filename is not None:
            if state["path"] is not None:
                raise UploadError(400, "send one file only")
            ext = Path(filename.decode("utf-8", "replace")).suffix.lower().lstrip(".")
            path = new_file(data_dir, ext)
            state["path"], state["file"] = path, path.open("wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["file"] is not None:
            state["file"].write(data[start:end])
        else:
            state["value"] += data[start:end]
            if len(state["value"]) > MAX_FIELD:
                raise UploadError(413, f"a form field may hold at most {MAX_FIELD} bytes")

    def on_part_end() -> None:
        if state["file"] is not None:
            state["file"].close()
            state["file"] = None
        else:
            fields.setdefault(state["name"], []).append(state["value"].decode("utf-8", "replace"))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end})
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise UploadError(413, f"the upload may hold at most {limit // (1024 * 1024)} MB")
            parser.write(chunk)
        parser.finalize()
    except UploadError as exc:
        problem.append(exc)
    except Exception as exc:  # noqa: BLE001 - the parser's errors have no common base across versions
        problem.append(UploadError(400, f"broken multipart body ({type(exc).__name__})"))
    if state["file"] is not None:
        state["file"].close()
    if problem:
        if state["path"] is not None:
            state["path"].unlink(missing_ok=True)
        raise problem[0]
    return state["path"], fields


def columns(path: Path) -> list[str]:
    """The column names of an upload (a plain list of domains has none): the header of a CSV/TSV,
    the keys of the first JSON object, the first row of a spreadsheet."""
    fmt = detect_format(path)
    if fmt in ("csv", "tsv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(64 * 1024)
        first = sample.splitlines()[0] if sample else ""
        delimiter = "\t" if fmt == "tsv" else _delimiter(sample)
        return [c for c in next(csv.reader(io.StringIO(first), delimiter=delimiter), []) if c.strip()]
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(value, dict):
                    return [str(key) for key in value]
        return []
    if fmt in SPREADSHEETS:
        from souverain import tabular

        for row in tabular.read_rows(path):  # the header: the first non-empty row, as the survey reader takes it
            if any(cell for cell in row.cells):
                return [cell for cell in row.cells if cell]
    return []


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample[:sample.rfind("\n") if "\n" in sample else None],
                                   delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def guess_domain_column(names: list[str]) -> str | None:
    lowered = {name.lower().strip(): name for name in names}
    return next((lowered[name] for name in DOMAIN_COLUMNS if name in lowered), None)
