#!/usr/bin/env bash
# The compiled build under test: builds the default wheel (the hot modules compiled with mypyc) as
# `pip wheel .` does, installs it in a throw-away venv that borrows the dependencies of this
# Python, and runs tests against it. `make test` runs it after the pure suite; PYTHON picks the
# interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
unset PYTHONPATH
work=$(mktemp -d "${TMPDIR:-/tmp}/souverain-compiled.XXXXXX")
trap 'rm -rf "$work"' EXIT

# a clean copy: neither build/ nor extensions left in src/ by an earlier build go into the wheel
mkdir "$work/tree"
cp -r setup.py pyproject.toml README.md LICENSE src "$work/tree/"
find "$work/tree" \( -name __pycache__ -o -name '*.so' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
echo "building the compiled wheel (about a minute)..."
# SOUVERAIN_MYPYC=1: a failed compilation fails here instead of falling back to pure Python
SOUVERAIN_MYPYC=1 "$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps \
    -w "$work/dist" "$work/tree"
"$PYTHON" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-index \
    "$work"/dist/souverain-*.whl
"$work/venv/bin/python" -c 'import souverain.collect.dns as m; print("imported:", m.__file__)'
"$work/venv/bin/souverain" --version | sed -n 2p

# SOUVERAIN_EXPECT_COMPILED: tests/test_build.py checks that every listed module is compiled.
# Arguments, if any, are the tests to run (e.g. `tests benchmarks/eval`: the whole suite); by
# default those of the compiled modules and their callers, less the browser, Dask and
# kill/interrupt tests (slow, and no compiled code of their own)
if [ $# -eq 0 ]; then
    set -- tests/collect tests/attribute tests/survey tests/kb tests/scan \
        -k 'not browser and not sigkill and not sigint and not dask'
fi
SOUVERAIN_EXPECT_COMPILED=1 "$work/venv/bin/python" -m pytest -p no:cacheprovider -x tests/test_build.py "$@"
