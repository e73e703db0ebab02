"""Every command is documented in the README, and the README's two set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from souverain.cli.main import cli

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
# helpers may not edit the README: their new commands wait here until the lead documents them
PENDING: set[str] = set()  # helpers' new commands wait here until the lead documents them


def test_every_command_in_readme():
    for name, command in cli.commands.items():
        if name in PENDING:  # its subcommands wait with it
            continue
        assert f"souverain {name}" in README, name
        for sub in getattr(command, "commands", {}):
            assert re.search(rf"{name}\b.*\b{sub}\b", README) or f"{name} {sub}" in PENDING, f"{name} {sub}"


def test_two_setup_commands_exist_in_makefile():
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    setup = README.split("## Set-up", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(make \w+)", setup, flags=re.MULTILINE)
    assert commands == ["make demo", "make test"]
    for command in commands:
        assert f"\n{command.split()[1]}:" in makefile
