"""Web server speed: API scan latency for one organisation of the loopback test world, and the
throughput of N scans submitted at once through the API, with the server's peak memory.

The server runs in a process of its own (this script with --serve: `souverain serve`'s
application on uvicorn, with the rate limit lifted so that a burst of submissions is not refused),
answers names from the loopback DNS server of the test world (tests/data/world), stores jobs in a
fresh SQLite file and does not fetch home pages (--no-web-fetch: nothing leaves 127.0.0.1). The
client polls GET /api/v1/scans/{id} every 20 ms; the server's resident memory (VmRSS) is sampled
every 50 ms from /proc.

    python benchmarks/web/bench.py --rounds 10 --concurrent 20 --workers 2

Prints one JSON line per measure and a Markdown summary.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
WORLD = ROOT / "tests" / "data" / "world"
ORGANISATION = ["m365.test", "ovhmail.test", "gworkspace.test"]  # one organisation, three domains
# organisations for the burst: each scan one of these, in turn
BURST = ["m365.test", "ovhmail.test", "gworkspace.test", "infomaniak.test", "awsmail.test", "gcpmail.test",
         "hybrid.test", "web.test", "proton.test", "colo.test"]
FUNCTIONS = ["mail", "dns", "web"]


def serve(port: int, dns_port: int, db: str, workers: int) -> None:
    import uvicorn

    from souverain.web.app import Settings, create_app
    from souverain.web.jobs import ScanSettings

    settings = Settings(db_url=db, workers=workers, rate=1_000_000, scan=ScanSettings(
        nameservers=[("127.0.0.1", dns_port)], timeout=0.5, fetch_web=False, allow_private_targets=True))
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def rss(pid: int) -> int:
    """Resident set size of a process, in bytes (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait(client: httpx.Client, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/scans/{job_id}").json()
        if job["status"] in ("done", "failed"):
            if job["status"] == "failed":
                raise SystemExit(f"scan {job_id} failed: {job.get('error')}")
            return job
        time.sleep(0.02)
    raise SystemExit(f"scan {job_id} not done after {timeout} s")


def scan(client: httpx.Client, domains: list[str]) -> float:
    started = time.perf_counter()
    answer = client.post("/api/v1/scans", json={"domains": domains, "functions": FUNCTIONS})
    answer.raise_for_status()
    wait(client, answer.json()["id"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="sequential scans of one organisation (latency)")
    parser.add_argument("--concurrent", type=int, default=20, help="scans submitted at once (throughput)")
    parser.add_argument("--workers", type=int, default=2, help="the server's --workers")
    parser.add_argument("--serve", nargs=4, metavar=("PORT", "DNS_PORT", "DB", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        port, dns_port, db, workers = args.serve
        serve(int(port), int(dns_port), db, int(workers))
        return

    from souverain.testing.dnsserver import DNSServer

    dns = DNSServer(WORLD / "zones").start()
    folder = tempfile.mkdtemp(prefix="souverain-web-bench-")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(dns.port),
                               f"sqlite:///{folder}/web.db", str(args.workers)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/api/v1/health")
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            idle = rss(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            first = scan(client, ORGANISATION)  # loads the IP table (health loaded the KB)
            latencies = [scan(client, ORGANISATION) for _ in range(args.rounds)]
            print(json.dumps({"measure": "latency", "domains": ORGANISATION, "first_s": round(first, 3),
                              "seconds": [round(s, 3) for s in latencies]}))
            started = time.perf_counter()
            ids = []
            for index in range(args.concurrent):
                answer = client.post("/api/v1/scans", json={"domains": [BURST[index % len(BURST)]],
                                                            "functions": FUNCTIONS})
                answer.raise_for_status()
                ids.append(answer.json()["id"])
            submitted = time.perf_counter() - started
            for job_id in ids:
                wait(client, job_id)
            elapsed = time.perf_counter() - started
            sampler.running = False
            sampler.join()
            print(json.dumps({"measure": "throughput", "scans": args.concurrent, "workers": args.workers,
                              "submit_s": round(submitted, 3), "elapsed_s": round(elapsed, 3),
                              "idle_rss_mb": round(idle / 2**20), "peak_rss_mb": round(sampler.peak / 2**20)}))
    finally:
        server.terminate()
        server.wait(30)
        dns.stop()
    print()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| first scan after start, {len(ORGANISATION)} domains (IP table loaded) | {first:.2f} s |")
    print(f"| scan latency, {len(ORGANISATION)} domains, median of {len(latencies)} (min, max) | "
          f"{statistics.median(latencies):.3f} s ({min(latencies):.3f}, {max(latencies):.3f}) |")
    print(f"| {args.concurrent} scans submitted at once, {args.workers} workers: all done in | {elapsed:.2f} s |")
    print(f"| throughput | {args.concurrent / elapsed:.2f} scans/s |")
    print(f"| submitting the {args.concurrent} (202 answers) | {submitted:.3f} s |")
    print(f"| server RSS: idle, peak | {idle / 2**20:.0f} MB, {sampler.peak / 2**20:.0f} MB |")


if __name__ == "__main__":
    main()
