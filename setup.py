"""Build: the survey's hot modules compiled with mypyc by default, pure Python as the fallback.

    pip install .                      # compiled (mypy comes from [build-system] requires)
    SOUVERAIN_MYPYC=0 pip install .    # pure Python
    SOUVERAIN_MYPYC=1 pip install .    # compiled, and a failed compilation fails the build

Everything else is in pyproject.toml. The modules compiled are ``MYPYC_MODULES`` in
src/souverain/version.py; their sources stay in the package, and ``souverain --version`` says
which kind of install runs. Without mypyc (another interpreter than CPython) or a C compiler, or
when compilation fails, the build warns and goes on pure: an install never fails for it.
Editable installs (``pip install -e .``) are pure unless SOUVERAIN_MYPYC=1: extensions built in
place would shadow the sources being edited.
"""

import os
import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

HERE = Path(__file__).parent
MODE = os.environ.get("SOUVERAIN_MYPYC", "")  # "0": pure, "1": compiled or fail, else compiled if possible
EDITABLE = {"develop", "editable_wheel"} & set(sys.argv)
METADATA_ONLY = {"egg_info", "dist_info", "sdist"} & set(sys.argv)  # no need to run mypyc for these


def warn(reason: str) -> None:
    # pip shows it with -v only; `souverain --version` tells which kind of install runs
    print(f"WARNING: souverain: building pure Python, not compiled with mypyc: {reason}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """Builds the compiled modules, or none of them: a partial set would not import."""

    def run(self) -> None:
        try:
            super().run()
        except (CCompilerError, ExecError, PlatformError) as exc:  # no compiler, or it failed
            if MODE == "1":
                raise
            for path in self.get_outputs():
                Path(path).unlink(missing_ok=True)
            self.extensions = []
            warn(f"the C build failed ({exc})")


def mypyc_extensions() -> list[Extension]:
    if MODE == "0" or METADATA_ONLY or (EDITABLE and MODE != "1"):
        return []
    names = runpy.run_path(str(HERE / "src/souverain/version.py"))["MYPYC_MODULES"]
    paths = [f"src/{name.replace('.', '/')}.py" for name in names]
    try:
        from mypyc.build import mypycify

        # the package's dependencies need not be in the build environment; imports of other
        # modules are not type-checked (their errors would not be the compiled code's)
        return mypycify(["--ignore-missing-imports", "--follow-imports=silent", *paths],
                        opt_level="3", group_name="souverain_mypyc")
    # mypy missing (ImportError), a type error (SystemExit), a crash of mypyc (anything else)
    except (Exception, SystemExit) as exc:
        if MODE == "1":
            raise
        warn(f"mypyc could not compile ({type(exc).__name__}: {exc})")
        return []


setup(ext_modules=mypyc_extensions(), cmdclass={"build_ext": OptionalBuildExt})
