"""Terminal output fits the terminal (COLUMNS), `--wide` keeps every column, `who` is short by
default, `-v`/`--sources` add the long parts, `-q` is quiet, no Python repr reaches a person."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from souverain.cli.main import cli
from souverain.cli.options import environment_lang

DOMAINS = ["m365pp.test", "selfovh.test"]


def run(args: list[str], columns: int, lang: str = "en"):
    result = CliRunner().invoke(cli, [*args, "--lang", lang], env={"COLUMNS": str(columns)})
    assert result.exit_code in (0, 3), result.output
    return result


def widest(text: str) -> int:
    return max(cell_len(line) for line in text.splitlines())


@pytest.fixture(scope="module")
def scan(world_dns):
    def scan(columns: int, *extra: str, lang: str = "en"):
        return run(["scan", *DOMAINS, "--nameserver", f"127.0.0.1:{world_dns.port}", "--functions", "mail,dns",
                    "--timeout", "2", "--no-store", "--quiet", *extra], columns, lang)
    return scan


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_scan_fits_80_columns_and_says_what_it_left_out(scan, lang):
    out = scan(80, lang=lang).stdout
    assert widest(out) <= 80
    hint = {"en": "add --wide to show them all", "fr": "ajoutez --wide pour toutes les voir"}[lang]
    assert hint in " ".join(out.split())
    assert "$ dig" not in out  # the re-check commands wait for -v, and one line says so
    assert {"en": "add -v.", "fr": "ajoutez -v."}[lang] in out


def test_scan_at_200_columns_keeps_every_column(scan):
    out = scan(200).stdout
    assert widest(out) <= 200
    assert "Confidence" in out and "Evidence" in out and "Controller" in out and "--wide" not in out


def test_wide_keeps_every_column_whatever_the_terminal(scan):
    narrow, wide = scan(80).stdout, scan(80, "--wide").stdout
    assert "Confidence" not in narrow and "Evidence" not in narrow
    assert "Confidence" in wide and "Evidence" in wide and "Controllers" in wide and widest(wide) > 80


def test_verbose_adds_the_recheck_commands(scan):
    out = scan(80, "-v").stdout
    assert "Re-check" in out and "$ dig @127.0.0.1 -p" in out and "add -v" not in out


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("args", [
    ["who", "microsoft"], ["who", "contoso-com.mail.protection.outlook.com"], ["assess", "aws-esc"],
    ["compare", "aws-esc", "ovhcloud-secnumcloud", "bleu-cloud"], ["kb", "stats"]])
def test_other_commands_fit(args, columns):
    assert widest(run(args, columns).stdout) <= columns


@pytest.mark.parametrize("columns", [80, 200])
def test_survey_report_fits(world_dns, tmp_path, columns):
    population = tmp_path / "pop.csv"
    population.write_text("domain,region\nm365pp.test,11\nselfovh.test,84\ngworkspace.test,11\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert CliRunner().invoke(cli, ["survey", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}",
                                    "--db", db, "--workers", "1", "-q", "--name", "fit"]).exit_code == 0
    out = run(["survey", "report", "fit", "--group-by", "region", "--db", db], columns).stdout
    assert widest(out) <= columns and "Île-de-France" in " ".join(out.split())


def test_who_prints_the_answer_chain_and_laws_and_sources_only_when_asked():
    short = run(["who", "microsoft"], 80).stdout
    assert "Ownership chain" in short and "CLOUD Act" in short
    assert "law.cornell.edu" not in short
    assert "add --sources (or -v)" in short
    for flag in ("--sources", "-v"):
        full = run(["who", "microsoft", flag], 200).stdout
        assert "law.cornell.edu" in full and "add --sources" not in full
    assert len(full.splitlines()) > len(short.splitlines())


def test_no_python_repr_in_a_gate_with_levels_per_objective():
    out = run(["assess", "aws-esc", "--min-seal", "SOV-2=3,SOV-3=2"], 200)
    assert "SOV-2=3, SOV-3=2" in out.stdout and "{'" not in out.stdout
    compare = run(["compare", "aws-esc", "ovhcloud-secnumcloud", "--min-seal", "SOV-2=3,SOV-3=2"], 200)
    assert "SOV-2=3, SOV-3=2" in compare.stderr and "{'" not in compare.stderr


def test_quiet_scan_writes_nothing_on_stderr(world_dns, tmp_path):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(cli, ["scan", "selfovh.test", "--nameserver", f"127.0.0.1:{world_dns.port}",
                                      "--functions", "mail", "--no-store", "-q", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0 and out.exists()
    assert result.stderr == ""


def test_quiet_survey_writes_nothing_on_stderr(world_dns, tmp_path):
    population = tmp_path / "pop.txt"
    population.write_text("selfovh.test\nm365pp.test\n", encoding="utf-8")
    base = ["survey", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "0.5",
            "--db", f"sqlite:///{tmp_path / 's.db'}", "--workers", "1"]
    loud = CliRunner().invoke(cli, base)
    assert loud.exit_code == 0 and "done: 2/2 domains" in loud.stderr and "{'" not in loud.stderr
    quiet = CliRunner().invoke(cli, [*base, "-q", "--name", "again"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_survey_progress_bar_stays_readable_at_80_columns():
    from souverain.cli.survey import _Progress
    from souverain.report.i18n import Translator

    class Row:
        def __init__(self, status, verdict):
            self.status, self.verdict = status, verdict

    progress = _Progress(3000, quiet=True, t=Translator("en"))  # quiet: no live bar of its own
    buffer = io.StringIO()
    assert progress.bar is None
    progress.bar = _Progress.make_bar(Console(file=buffer, width=80, force_terminal=False))
    progress.task = progress.bar.add_task("survey", total=3000, rate="0", outcomes="")
    for index in range(2000):
        progress(Row("ok" if index % 10 else "unknown", "exposed" if index % 3 else "not-exposed"))
    Console(file=buffer, width=80).print(progress.bar.get_renderable())
    line = buffer.getvalue().splitlines()[-1]
    assert cell_len(line) <= 80
    assert "2000/3000" in line and "ok 1800, unknown 200" in line


@pytest.mark.parametrize(("environ", "lang"), [
    ({"LANG": "fr_FR.UTF-8"}, "fr"), ({"LANG": "en_GB.UTF-8"}, "en"), ({"LC_ALL": "fr_CA.UTF-8", "LANG": "en_US"}, "fr"),
    ({"LC_ALL": "C", "LANG": "fr_FR"}, "en"), ({"SOUVERAIN_LANG": "en", "LANG": "fr_FR"}, "en"), ({}, "en")])
def test_the_default_language_follows_the_environment(environ, lang):
    assert environment_lang(environ) == lang


def test_the_cli_default_language_follows_lang():
    result = CliRunner().invoke(cli, ["kb", "validate"], env={"LANG": "fr_FR.UTF-8", "LC_ALL": "", "SOUVERAIN_LANG": ""})
    assert result.output.startswith("La base de connaissances est valide")
    assert re.match("Knowledge base is valid", CliRunner().invoke(cli, ["kb", "validate"], env={
        "LANG": "C.UTF-8", "LC_ALL": "", "SOUVERAIN_LANG": ""}).output)
