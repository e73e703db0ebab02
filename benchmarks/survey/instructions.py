"""Instructions executed per surveyed domain (valgrind callgrind): a measure this noisy machine cannot blur.

    python benchmarks/survey/instructions.py --work /tmp/souverain-bench-real --names 300 [--src DIR]

Starts NSD on the realistic world (made by bench.py, ``--world-kind realistic``), then runs the
survey's worker function (``scan_partition``, one process, partitions of 500) under callgrind twice:
over no name and over the first ``--names`` names, after the same warm-up (the KB load and 50 other
names). The difference divided by the names is the figure. ``--src`` points at another source tree
(a checkout's ``src``, or one compiled in place with mypyc) instead of the installed package.
PYTHONHASHSEED is fixed so that two runs of the same code count the same. Needs valgrind (Debian
package). Under callgrind a run is about 50 times slower: 300 names take about three minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import bench

HARNESS = """
import sys, time
from pathlib import Path
from souverain.survey.runner import SurveyOptions, new_run_token, scan_partition
work, count = Path(sys.argv[1]), int(sys.argv[2])
names = (work / "domains.txt").read_text().split()
options = SurveyOptions(functions=("mail", "dns"), nameservers=[("127.0.0.1", PORT)], concurrency=100).as_dict()
scan_partition(names[-50:], options, None, None)  # warm-up: the KB load, first imports
token, queries = new_run_token(1), 0
for start in range(0, count, 500):
    queries += scan_partition(names[start:min(start + 500, count)], options, None, token)["dns_queries"]
print(f"queries {queries}")
""".replace("PORT", str(bench.PORT))


def instructions(python: str, work: Path, count: int, src: str | None) -> tuple[int, int]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    if src:
        env["PYTHONPATH"] = src
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "harness.py"
        script.write_text(HARNESS)
        out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/out", python,
                              str(script), str(work), str(count)], env=env, capture_output=True, text=True,
                             check=True)
    collected = int(re.search(r"Collected : (\d+)", out.stderr).group(1))
    queries = int(re.search(r"queries (\d+)", out.stdout).group(1))
    return collected, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-bench-real"))
    parser.add_argument("--names", type=int, default=300)
    parser.add_argument("--src", help="a source tree to import souverain from (default: the installed one)")
    # valgrind must run the interpreter itself, not a wrapper script (a pyenv shim would be measured)
    parser.add_argument("--python", default=os.path.realpath(sys.executable))
    args = parser.parse_args()
    nsd = bench.start_nsd(args.work)
    try:
        base, _ = instructions(args.python, args.work, 0, args.src)
        total, queries = instructions(args.python, args.work, args.names, args.src)
    finally:
        os.killpg(nsd.pid, signal.SIGTERM)
        nsd.wait(30)
    print(f"{(total - base) / args.names:,.0f} instructions per domain "
          f"({queries / args.names:.2f} queries per domain, {args.names} names)")


if __name__ == "__main__":
    main()
