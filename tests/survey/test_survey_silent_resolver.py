"""A survey whose name server never answers says so, with the command that re-scans the rows."""

from __future__ import annotations

import shlex

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli


@pytest.mark.parametrize("workers", ["1", "2"])
def test_unreachable_nameserver_is_reported_with_the_retry_command(tmp_path, workers):
    population = tmp_path / "pop.txt"
    population.write_text("a.example\nb.example\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    # 127.0.0.1:1: nothing listens there, so every query fails without leaving the machine
    result = CliRunner().invoke(cli, ["survey", "run", str(population), "--nameserver", "127.0.0.1:1",
                                      "--timeout", "0.2", "--db", db, "--name", "silent", "--quiet",
                                      "--workers", workers, "--functions", "mail"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    warning = next(i for i, line in enumerate(lines) if line.startswith("warning: no answer from 127.0.0.1:1"))
    command = shlex.split(lines[warning + 1])
    assert command[-4:] == ["--retry", "unknown", "--db", db] and command[command.index("--name") + 1] == "silent"


def test_no_warning_when_the_server_answers(tmp_path, world_dns):
    population = tmp_path / "pop.txt"
    population.write_text("m365pp.test\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["survey", "run", str(population), "--nameserver",
                                      f"127.0.0.1:{world_dns.port}", "--timeout", "0.5", "--db",
                                      f"sqlite:///{tmp_path / 's.db'}", "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "no answer from" not in result.output
