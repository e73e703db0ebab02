"""Survey throughput and memory against NSD on 127.0.0.1, with dnsperf as the reference ceiling.

    python benchmarks/survey/bench.py --world 400000 --sizes 100000,200000,400000 --work /tmp/souverain-bench
    python benchmarks/survey/bench.py --world-kind realistic --world 200000 --sizes 100000 --work /tmp/souverain-bench-real

For each size: a fresh survey of the first N domains of the world: synthetic (gen_world.py) or
realistic (gen_real_world.py, its mix drawn from the peers' recordings in ../shared/eval),
`--functions mail,dns`, local executor with --workers processes. Reports domains/s, DNS queries/s,
the ratio to dnsperf's queries/s measured against the same server in the same run, and the peak
resident memory of the whole survey process tree (parent and workers, sampled every 0.1 s).
Everything runs on loopback; nothing is sent anywhere else. Needs: nsd, dnsperf (Debian packages).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PORT = 5354


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


# the files each kind of world is made from: a change to any of them makes a new world
GENERATORS = {
    "synthetic": ("gen_world.py", [HERE / "gen_world.py"]),
    "realistic": ("gen_real_world.py", [HERE / "gen_real_world.py", HERE / "recordings.py", HERE / "gen_world.py",
                                        HERE.parent / "eval" / "replay.py"]),
}


def generator_hash(kind: str) -> str:
    digest = hashlib.sha256()
    for path in GENERATORS[kind][1]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_world(work: Path, count: int, kind: str = "synthetic") -> None:
    marker = work / "world.json"
    # regenerate when the kind, the size or the generator changed (a stale world would measure another mix)
    generator = generator_hash(kind)
    if marker.exists():
        seen = json.loads(marker.read_text())
        if seen.get("kind", "synthetic") == kind and seen.get("key") == [count, generator]:
            return
    if work.exists():
        shutil.rmtree(work)
    started = time.monotonic()
    run([sys.executable, str(HERE / GENERATORS[kind][0]), str(count), str(work)])
    marker.write_text(json.dumps({"key": [count, generator], "kind": kind, "generator": GENERATORS[kind][0],
                                  "seconds": round(time.monotonic() - started, 1)}))


def boost(pid: int) -> None:
    """Give ``pid``'s scheduling group this process's nice value, when that is below 0 (root).

    With autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``), a nice value only
    ranks processes inside their session: NSD (its own session) and the survey would otherwise
    share the CPU equally with every other session's job, whatever ``nice -n -15`` says.
    """
    niceness = os.nice(0)
    if niceness >= 0:
        return
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
    except OSError:
        pass


def start_nsd(work: Path) -> subprocess.Popen:
    run(["nsd-checkconf", str(work / "nsd.conf")])
    (work / "nsd.pid").unlink(missing_ok=True)  # a killed run's pid file keeps a new NSD from starting
    process = subprocess.Popen(["nsd", "-c", str(work / "nsd.conf"), "-d"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    boost(process.pid)
    probe = (work / "domains.txt").read_text().split("\n", 1)[0]
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(PORT), probe, "SOA", "+short", "+time=1", "+retry=0"],
                             capture_output=True, text=True, check=False)
        if out.stdout.strip():
            return process
        time.sleep(1)
    raise SystemExit("NSD did not come up")


def dnsperf(work: Path) -> float:
    out = run(["dnsperf", "-s", "127.0.0.1", "-p", str(PORT), "-d", str(work / "queries.txt"), "-n", "1",
               "-c", "1", "-q", "200", "-t", "2"]).stdout
    return float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def tree_memory_kb(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) summed over ``pids``, from /proc/PID/smaps_rollup.

    RSS counts pages shared between the parent and its forked workers once per process; PSS
    splits them between the processes sharing them, so the PSS sum is the memory really used.
    """
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nsd_cpu_seconds() -> float:
    """CPU time of every NSD process so far (the server shares the two cores with the survey)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"nsd\0"):
                    total += cpu_seconds(int(entry.name)) or 0.0
            except OSError:
                continue
    return total


def survey(work: Path, size: int, workers: int | None, concurrency: int | None, extra: list[str],
           souverain: str = "souverain") -> dict:
    names = (work / "domains.txt").read_text().split("\n")[:size]
    population = work / f"domains-{size}.txt"
    population.write_text("\n".join(names) + "\n")
    db = work / f"survey-{size}.db"
    db.unlink(missing_ok=True)
    tuning = [] if concurrency is None else ["--concurrency", str(concurrency)]
    tuning += [] if workers is None else ["--workers", str(workers)]
    cmd = [souverain, "survey", str(population), "--nameserver", f"127.0.0.1:{PORT}", "--functions", "mail,dns",
           "--db", f"sqlite:///{db}", "--name", f"bench-{size}", "--timeout", "2", *tuning, *extra]
    # not --quiet: since 7 Dec 2026 -q drops the "done:" summary this reads; stderr (progress lines
    # included) goes to a file, so that a full pipe can never stall the survey
    log = work / f"survey-{size}.stderr"
    started = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=sink, text=True)
        boost(process.pid)
        peak_rss = peak_pss = 0
        pids, listed = [process.pid], 0.0
        nsd_before, cpu = nsd_cpu_seconds(), {}  # where the cores went: survey parent, workers, NSD
        # sampling costs CPU the survey shares: the process list every 2 s, memory every 0.25 s
        while process.poll() is None:
            if time.monotonic() - listed > 2:
                pids, listed = descendants(process.pid), time.monotonic()
            rss, pss = tree_memory_kb(pids)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            for pid in pids:  # the last reading before a process ends (its children are not waited for here)
                if (seconds := cpu_seconds(pid)) is not None:
                    cpu[pid] = seconds
            time.sleep(0.25)
        nsd_seconds = nsd_cpu_seconds() - nsd_before
    stderr = log.read_text()
    if process.returncode != 0:
        raise SystemExit(f"survey failed: {stderr[-2000:]}")
    line = [l for l in stderr.splitlines() if l.startswith("done:")][-1]
    numbers = re.search(r"= (\d+) domains/s, (\d+) DNS queries = (\d+) queries/s", line)
    return {"size": size, "wall_s": round(time.monotonic() - started, 1), "domains_per_s": int(numbers.group(1)),
            "queries": int(numbers.group(2)), "queries_per_domain": round(int(numbers.group(2)) / size, 2),
            "queries_per_s": int(numbers.group(3)), "peak_rss_mb": round(peak_rss / 1024), "peak_pss_mb": round(peak_pss / 1024),
            # CPU per domain (µs) of the survey's parent process, its workers (summed) and NSD; the
            # last sample of each process is up to 0.25 s (2 s for a new worker) short of its total
            "cpu_us_per_domain": {"parent": round(cpu.get(process.pid, 0.0) / size * 1e6),
                                  "workers": round(sum(v for k, v in cpu.items() if k != process.pid) / size * 1e6),
                                  "nsd": round(nsd_seconds / size * 1e6)},
            "summary": line}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=int, default=200_000, help="domains in the world")
    parser.add_argument("--world-kind", choices=tuple(GENERATORS), default="synthetic",
                        help="synthetic: gen_world.py's fixed mix; realistic: gen_real_world.py, drawn from the recordings")
    parser.add_argument("--sizes", default="100000", help="comma-separated survey sizes")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-bench"))
    parser.add_argument("--survey-args", default="", help="extra survey options, e.g. '--dkim full'")
    parser.add_argument("--souverain", default="souverain",
                        help="the souverain executable, e.g. that of a plain `pip install .` in a venv")
    parser.add_argument("--plain", action="store_true",
                        help="default settings: pass neither --workers nor --concurrency (as installed)")
    args = parser.parse_args()
    if args.plain:
        args.workers = args.concurrency = None
    for tool in ("nsd", "dnsperf", "kdig", args.souverain):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install nsd dnsperf knot-dnsutils; pip install -e '.[fast]'")
    ensure_world(args.work, args.world, args.world_kind)
    nsd = start_nsd(args.work)
    try:
        reference = dnsperf(args.work)
        results = []
        for size in (int(s) for s in args.sizes.split(",")):
            result = survey(args.work, size, args.workers, args.concurrency, args.survey_args.split(),
                            args.souverain)
            result["dnsperf_qps"] = round(reference)
            result["ratio_to_dnsperf"] = round(result["queries_per_s"] / reference, 3)
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        os.killpg(nsd.pid, signal.SIGTERM)
        nsd.wait(30)
    machine = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n| size | domains/s | queries/s | queries/domain | dnsperf q/s | ratio | peak RSS sum (MB) | peak PSS sum (MB) |"
          f"  ({machine}, {time.strftime('%Y-%m-%d')}, workers={args.workers or 'default'} "
          f"concurrency={args.concurrency or 'default'} {args.souverain} {args.survey_args}, "
          f"{args.world_kind} world of {args.world:,})")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['size']:,} | {r['domains_per_s']:,} | {r['queries_per_s']:,} | {r['queries_per_domain']} | "
              f"{r['dnsperf_qps']:,} | "
              f"{r['ratio_to_dnsperf']:.1%} | {r['peak_rss_mb']} | {r['peak_pss_mb']} |")


if __name__ == "__main__":
    main()
