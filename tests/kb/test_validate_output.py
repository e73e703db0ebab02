"""`souverain kb validate` on a broken KB: one line per problem, then the count on a line of its
own, on the same stream (standard output), so that captured output never glues them together."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from souverain.cli.main import cli

DATA = Path(__file__).resolve().parents[2] / "src" / "souverain" / "kb" / "data"


def test_problems_then_the_count_on_its_own_line(tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(DATA, folder)
    broken = folder / "entities" / "ovh-sas.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("country: FR", "country: zz", 1), encoding="utf-8")
    for lang, summary in (("en", "problem(s) in the knowledge base."), ("fr", "problème(s) dans la base de connaissances.")):
        result = CliRunner().invoke(cli, ["kb", "validate", "--path", str(folder), "--lang", lang])
        assert result.exit_code == 2
        lines = result.stdout.splitlines()
        assert lines[-1] == f"{len(lines) - 1} {summary}", lines[-3:]
        assert all(line.startswith(str(folder)) for line in lines[:-1])
        assert any("ovh-sas.yaml:" in line and "country" in line for line in lines)
