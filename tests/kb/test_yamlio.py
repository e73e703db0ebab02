"""YAML reading limits: no alias is expanded, nesting and size are bounded, bytes must be UTF-8 text,
duplicate keys are found; every refusal names its line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from souverain.errors import YAMLFileError
from souverain.kb import yamlio
from tests.cli.test_bad_inputs import billion_laughs


def refusal(content: bytes | str, tmp_path: Path, **limits) -> YAMLFileError:
    path = tmp_path / "f.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(YAMLFileError) as info:
        yamlio.read(path, **limits)
    assert str(info.value) == f"{path}:{info.value.line}: {info.value.problem}"
    return info.value


def test_billion_laughs_is_refused_without_being_expanded(tmp_path):
    """In a child process capped at 512 MB of address space: expanding even a sliver of 9**30 "lol"s
    (or walking the alias graph) fails or never ends, so only a refusal on the event stream passes."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_bytes(billion_laughs())
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (512 * 2**20, 512 * 2**20))
        from souverain.errors import YAMLFileError
        from souverain.kb import yamlio
        try:
            yamlio.read(__import__("pathlib").Path({str(bomb)!r}))
        except YAMLFileError as exc:
            print(exc)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"{bomb}:2: alias *a is not allowed (write the value out)"


def test_recursive_alias_and_merge_keys(tmp_path):
    assert refusal("id: x\nloop: &a [*a]\n", tmp_path).line == 2
    merge = refusal("defaults: &d {country: FR}\nentity:\n  <<: *d\n  name: X\n", tmp_path)
    assert (merge.line, merge.problem) == (3, "alias *d is not allowed (write the value out)")


def test_an_anchor_alone_is_harmless(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("id: &name x\n")
    assert yamlio.read(path).data == {"id": "x"}


def test_nesting_is_bounded_before_libyaml_recurses(tmp_path):
    """libyaml's composer recurses: a few hundred thousand "[" crash the interpreter (SIGSEGV)."""
    error = refusal("a:\n  b: " + "[" * 300_000 + "]" * 300_000 + "\n", tmp_path)
    assert error.line == 2 and "nested more than" in error.problem
    path = tmp_path / "ok.yaml"
    path.write_text("a: " + "[" * (yamlio.MAX_DEPTH - 1) + "]" * (yamlio.MAX_DEPTH - 1) + "\n")
    assert yamlio.read(path).data["a"]


def test_size_is_bounded_before_reading(tmp_path):
    error = refusal("a: " + "x" * 200 + "\n", tmp_path, max_bytes=100)
    assert error.problem == "file too large (204 bytes; the limit is 100)"


def test_only_regular_files(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block until a writer comes
    with pytest.raises(YAMLFileError, match="not a regular file"):
        yamlio.read(fifo)
    with pytest.raises(YAMLFileError, match="cannot read the file"):
        yamlio.read(tmp_path / "missing.yaml")


@pytest.mark.parametrize(("content", "line", "problem"), [
    (b"id: x\nname: Soci\xe9t\xe9\n", 2, "not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    (b"id: x\n\n\x00\x01\x02", 3, "binary data (a NUL byte), not YAML text"),
    ("id: x\n".encode("utf-16"), 1, "UTF-16 text; save the file as UTF-8"),
])
def test_bytes_must_be_utf8_text(tmp_path, content, line, problem):
    error = refusal(content, tmp_path)
    assert (error.line, error.problem) == (line, problem)


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_bytes("\ufeffname: Société\n".encode())
    assert yamlio.read(path).data == {"name": "Société"}


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("id: x\nn: " + "9" * 5000 + "\n", 2, "bad value: Exceeds the limit"),
    ("id: x\nsince: 2026-02-30\n", 2, "bad value: day is out of range for month"),
    ("id: x\nname: a\x07b\n", 2, "control characters are not allowed"),
    ("id: x\n---\nid: y\n", 2, "but found another document"),
    ("id: x\ncmd: !!python/object/apply:os.system [id]\n", 2, "could not determine a constructor"),
])
def test_bad_values_name_their_line(tmp_path, text, line, problem):
    error = refusal(text, tmp_path)
    assert error.line == line and problem in error.problem, error


def test_duplicate_keys_are_reported_with_both_lines(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("id: x\nowners:\n  - owner: a\n    capital_pct: 10\n    capital_pct: 20\nid: y\n")
    document = yamlio.read(path)
    assert document.duplicates == [
        (("owners", 0, "capital_pct"), 5, "duplicate key 'capital_pct' (first on line 4)"),
        (("id",), 6, "duplicate key 'id' (first on line 1)"),
    ]
    assert document.lines[("owners", 0, "capital_pct")] == 4


def test_line_index_and_yaml_12_booleans():
    document = yamlio.parse("id: x\nmembers:\n  - NO\n  - FR\nflag: true\nother: yes\n")
    assert document.data == {"id": "x", "members": ["NO", "FR"], "flag": True, "other": "yes"}
    assert document.lines[("members", 1)] == 4 and document.lines[("flag",)] == 5
