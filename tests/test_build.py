"""The compiled build: setup.py compiles MYPYC_MODULES with mypyc or, failing that, builds pure
Python with a warning; ``--version`` and a survey's last line say which kind of install runs.

The setup.py tests run ``setup.py build_ext`` with a stand-in for ``mypyc.build`` (a real
compilation takes a minute: scripts/test_compiled.sh does one, and runs the tests against it).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from souverain import version
from souverain.cli.main import cli

ROOT = Path(__file__).parents[1]
# set by scripts/test_compiled.sh, which runs tests against the wheel built by default
EXPECT_COMPILED = os.environ.get("SOUVERAIN_EXPECT_COMPILED") == "1"
EXPECTED_KIND = f"compiled: {len(version.MYPYC_MODULES)} modules (mypyc)" if EXPECT_COMPILED else "pure Python"


def test_every_listed_module_has_its_source():
    for name in version.MYPYC_MODULES:
        assert (ROOT / "src" / (name.replace(".", "/") + ".py")).is_file(), name


def test_the_install_under_test_is_the_expected_kind():
    compiled = version.compiled_modules()
    if EXPECT_COMPILED:
        assert compiled == list(version.MYPYC_MODULES)
        import souverain.collect.dns

        assert souverain.collect.dns.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    else:
        assert compiled == [], "compiled extensions shadow the sources (left by an in-place build?)"


def test_version_says_which_kind_of_install_runs():
    lines = CliRunner().invoke(cli, ["--version"]).output.splitlines()
    assert lines[0].startswith("souverain ") and lines[1] == EXPECTED_KIND


def test_compiled_modules_are_those_found_as_extensions(monkeypatch):
    compiled = {"souverain.collect.dns", "souverain.kb.psl"}

    def spec_of(name):
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0] if name in compiled else ".py"
        return importlib.machinery.ModuleSpec(name, None, origin=f"/site/{name.replace('.', '/')}{suffix}")

    monkeypatch.setattr(version.importlib.util, "find_spec", spec_of)
    assert version.compiled_modules() == ["souverain.collect.dns", "souverain.kb.psl"]
    assert version.build_kind() == "compiled: 2 modules (mypyc)"
    compiled.clear()
    assert version.build_kind() == "pure Python"


# setup.py run with ``mypyc.build`` replaced: {mypycify} is the body of the stand-in's mypycify
SETUP = """
import runpy, sys, types
from setuptools import Extension
mypyc = types.ModuleType("mypyc.build")
def mypycify(paths, **options):
{mypycify}
mypyc.mypycify = mypycify
sys.modules["mypyc.build"] = mypyc
sys.argv = ["setup.py", "build_ext", "--build-lib", {lib!r}, "--build-temp", {temp!r}]
runpy.run_path("setup.py", run_name="__main__")
"""


def build(tmp_path: Path, mypycify: str, mode: str | None = None) -> subprocess.CompletedProcess:
    lib, temp = tmp_path / "lib", tmp_path / "temp"
    code = SETUP.format(mypycify=textwrap.indent(textwrap.dedent(mypycify), "    "), lib=str(lib),
                        temp=str(temp))
    env = {k: v for k, v in os.environ.items() if k != "SOUVERAIN_MYPYC"}
    if mode is not None:
        env["SOUVERAIN_MYPYC"] = mode
    return subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def extensions_in(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "lib").rglob("*") if p.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))]


PURE_WARNING = "WARNING: souverain: building pure Python, not compiled with mypyc"


def test_without_mypyc_the_build_is_pure_with_a_warning(tmp_path):
    result = build(tmp_path, "raise ImportError('No module named mypyc')")
    assert result.returncode == 0, result.stderr
    assert f"{PURE_WARNING}: mypyc could not compile (ImportError: No module named mypyc)" in result.stderr
    assert extensions_in(tmp_path) == []


def test_a_type_error_gives_a_pure_build(tmp_path):
    result = build(tmp_path, "raise SystemExit(1)  # what mypyc does on a type error")
    assert result.returncode == 0, result.stderr
    assert f"{PURE_WARNING}: mypyc could not compile (SystemExit: 1)" in result.stderr


# two extensions, the second of which does not compile: neither may be left in the build
TWO_EXTENSIONS = """
from pathlib import Path
temp = Path({temp!r})
temp.mkdir(parents=True, exist_ok=True)
(temp / "good.c").write_text('#include <Python.h>\\nstatic struct PyModuleDef m = {{PyModuleDef_HEAD_INIT, "good"}};\\n'
                             'PyMODINIT_FUNC PyInit_good(void) {{ return PyModule_Create(&m); }}\\n')
(temp / "bad.c").write_text("this is not C\\n")
return [Extension("good", [str(temp / "good.c")]), Extension("bad", [str(temp / "bad.c")])]
"""


def test_a_failed_c_build_leaves_no_extension_and_warns(tmp_path):
    result = build(tmp_path, TWO_EXTENSIONS.format(temp=str(tmp_path / "c")))
    assert result.returncode == 0, result.stderr
    assert f"{PURE_WARNING}: the C build failed" in result.stderr
    assert "building 'good' extension" in result.stdout + result.stderr  # built, then removed
    assert extensions_in(tmp_path) == []


def test_souverain_mypyc_1_makes_a_failed_compilation_fail_the_build(tmp_path):
    assert build(tmp_path, "raise ImportError('No module named mypyc')", mode="1").returncode != 0
    result = build(tmp_path, TWO_EXTENSIONS.format(temp=str(tmp_path / "c")), mode="1")
    assert result.returncode != 0 and PURE_WARNING not in result.stderr


def test_souverain_mypyc_0_does_not_run_mypyc(tmp_path):
    result = build(tmp_path, "raise AssertionError('mypyc was run')", mode="0")
    assert result.returncode == 0, result.stderr
    assert "mypyc" not in result.stderr and extensions_in(tmp_path) == []


def test_the_modules_given_to_mypyc_are_the_listed_ones(tmp_path):
    result = build(tmp_path, "print('PATHS', [p for p in paths if not p.startswith('-')]); return []")
    assert result.returncode == 0, result.stderr
    expected = [f"src/{name.replace('.', '/')}.py" for name in version.MYPYC_MODULES]
    assert f"PATHS {expected}" in result.stdout


def test_a_survey_says_on_its_last_line_which_kind_of_install_ran(world_dns, tmp_path):
    population = tmp_path / "pop.txt"
    population.write_text("selfovh.test\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["survey", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}",
                                      "--timeout", "0.5", "--db", f"sqlite:///{tmp_path / 's.db'}", "--workers", "1"])
    assert result.exit_code == 0, result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("done: 1/1 domains") and last.endswith(EXPECTED_KIND), last
