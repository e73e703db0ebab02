"""Optional compiled build of the survey's hot, typed, pure modules (mypyc), off by default.

    SOUVERAIN_MYPYC=1 pip install --no-build-isolation .     # needs mypy and a C compiler

Without ``SOUVERAIN_MYPYC=1`` this is the plain pure-Python build (everything else is in
pyproject.toml). The compiled modules behave exactly like their sources, which stay in the
package and are what the test suite runs; ``souverain --version`` does not change.
"""

import os

from setuptools import setup

# pure functions on bytes and strings, no monkeypatching in the tests, mypy clean
COMPILED = ["src/souverain/collect/dnswire.py", "src/souverain/kb/hostnames.py"]

if os.environ.get("SOUVERAIN_MYPYC") == "1":
    from mypyc.build import mypycify

    # the package's dependencies need not be installed in the build environment
    setup(ext_modules=mypycify(["--ignore-missing-imports", *COMPILED], opt_level="3"))
else:
    setup()
