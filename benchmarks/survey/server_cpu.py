"""CPU per domain of the scanning process and of the DNS server, code trees side by side.

    python benchmarks/survey/server_cpu.py --work /tmp/souverain-bench-real --names 5000 --rounds 2 \\
        before=/path/to/old/checkout/src after=src

Starts NSD on a world made by bench.py, then, for each round and each ``label=SRC`` in turn,
runs the survey's worker function (``scan_partition``, one process, partitions of 500) over
the next ``--names`` names of the world (each run its own names, in a fresh process), and reports the CPU time of that process (user and system) and NSD's, per domain and per query.
``SRC`` is a source tree put first on ``PYTHONPATH`` (a checkout's ``src``), or ``installed:PYTHON``
to run another environment's interpreter and package. Throughput varies by a third on this
machine between minutes; CPU time per query varies much less, which makes this the measure for
changes to how queries leave and arrive (a server reading queries in bursts spends less per query).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import bench

HARNESS = """
import resource, sys, time
from souverain.survey.runner import SurveyOptions, new_run_token, scan_partition
names = open(sys.argv[1]).read().split()
count, start = int(sys.argv[2]), int(sys.argv[3])
options = SurveyOptions(functions=("mail", "dns"), nameservers=[("127.0.0.1", PORT)], concurrency=128).as_dict()
scan_partition(names[-50:], options, None, None)  # the KB load and first imports, outside the measure
token, queries = new_run_token(1), 0
before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
for offset in range(start, start + count, 500):
    queries += scan_partition(names[offset:min(offset + 500, start + count)], options, None, token)["dns_queries"]
after = resource.getrusage(resource.RUSAGE_SELF)
print(queries, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, time.monotonic() - started)
""".replace("PORT", str(bench.PORT))


def server_ticks(work: Path) -> int:
    """CPU clock ticks NSD's processes have used so far (user and system)."""
    out = subprocess.run(["pgrep", "-f", f"nsd -c {work}/nsd.conf"], capture_output=True, text=True, check=False)
    ticks = 0
    for pid in out.stdout.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-bench-real"))
    parser.add_argument("--names", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("trees", nargs="+", metavar="LABEL=SRC")
    args = parser.parse_args()
    trees = [tree.split("=", 1) for tree in args.trees]
    if any(len(tree) != 2 for tree in trees):
        raise SystemExit("give each tree as LABEL=SRC (a source directory, or installed:PYTHON)")
    names = args.work / "domains.txt"
    available = len(names.read_text().split()) - 50
    if args.names * args.rounds * len(trees) > available:
        raise SystemExit(f"the world has {available} names: fewer --names or --rounds")
    hertz = os.sysconf("SC_CLK_TCK")
    nsd = bench.start_nsd(args.work)
    try:
        start = 0
        for round_number in range(1, args.rounds + 1):
            for label, src in trees:
                python, env = sys.executable, dict(os.environ)
                if src.startswith("installed:"):
                    python = src.removeprefix("installed:")
                else:
                    env["PYTHONPATH"] = str(Path(src).resolve())
                ticks = server_ticks(args.work)
                out = subprocess.run([python, "-c", HARNESS, str(names), str(args.names), str(start)],
                                     capture_output=True, text=True, env=env, check=True).stdout.split()
                server = (server_ticks(args.work) - ticks) / hertz
                start += args.names
                queries, user, system, wall = int(out[0]), float(out[1]), float(out[2]), float(out[3])
                per = 1e6 / args.names
                print(f"round {round_number} {label}: {queries / args.names:.2f} queries/domain; scanner "
                      f"{(user + system) * per:,.0f} µs/domain (user {user * per:,.0f}, system {system * per:,.0f}); "
                      f"NSD {server * per:,.0f} µs/domain = {server * 1e6 / queries:.1f} µs/query; "
                      f"{args.names / wall:,.0f} domains/s in one process", flush=True)
    finally:
        os.killpg(nsd.pid, signal.SIGTERM)
        nsd.wait(30)


if __name__ == "__main__":
    main()
