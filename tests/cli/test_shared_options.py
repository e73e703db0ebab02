"""An option shared by several commands is declared once (cli/options.py) and reads the same
everywhere: same spelling, short form, help, environment variable and value checks."""

from __future__ import annotations

import re
from collections import defaultdict

import click
import pytest

from souverain.cli.main import cli

SHARED = ("--at", "--db", "--lang", "--nameserver", "--output", "--quiet", "--timeout")


def _commands(group: click.Group, path: str = "souverain") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{path} {name}")
    return found


def _options() -> dict[str, list[tuple[str, click.Option]]]:
    by_name: dict[str, list[tuple[str, click.Option]]] = defaultdict(list)
    for path, command in _commands(cli):
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt.startswith("--"):
                        by_name[opt].append((path, param))
    return by_name


def _shape(option: click.Option) -> tuple:
    """What a person sees of an option, apart from its default (a command may pick its own) and
    the file suffixes a command's ``-o`` accepts (``output_option_for``)."""
    help_text = re.sub(r" \(\.[a-z]+(, \.[a-z]+)*\)", "", option.help or "")
    return (option.name, tuple(option.opts), tuple(option.secondary_opts), help_text,
            option.envvar, option.metavar, option.multiple, option.is_flag,
            getattr(option.callback, "__qualname__", None), type(option.type).__name__)


@pytest.mark.parametrize("name", SHARED)
def test_a_shared_option_reads_the_same_in_every_command(name):
    uses = _options()[name]
    assert len(uses) >= 2, f"{name} is used by {len(uses)} command(s) only"
    shapes = {_shape(option) for _, option in uses}
    assert len(shapes) == 1, {path: _shape(option) for path, option in uses}


def test_every_format_option_is_the_shared_one():
    uses = _options()["--format"]
    assert len(uses) >= 5
    for path, option in uses:
        assert option.name == "fmt" and isinstance(option.type, click.Choice), path
        assert option.help and option.help.startswith("Output format"), path
        assert option.show_default == (option.default is not None), path
