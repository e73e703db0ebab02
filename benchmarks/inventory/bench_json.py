"""Peak memory and time of `souverain inventory` on big JSON inventories (a HAR and a CycloneDX
SBOM of about --mb megabytes each), against parsing the same file whole with json.loads (what
souverain did before its JSON readers streamed). Each run is its own process, measured by
/usr/bin/time (maximum resident set size, wall time).

    python benchmarks/inventory/bench_json.py --mb 200 --work /tmp/souverain-inv-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

WHOLE = "import json, sys; json.loads(open(sys.argv[1], encoding='utf-8').read())"


def write_har(path: Path, megabytes: int) -> None:
    entry = {"request": {"method": "GET", "url": "", "headers": [{"name": "accept", "value": "*/*"}] * 8},
             "response": {"status": 200, "headers": [{"name": "server", "value": "x"}] * 8,
                          "content": {"size": 900, "mimeType": "text/javascript", "text": "y" * 900}},
             "timings": {"send": 0, "wait": 12, "receive": 1}}
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"}, '
                     '"pages": [{"title": "https://www.acme.example/"}], "entries": [\n')
        n = 0
        while handle.tell() < megabytes * 1_000_000:
            entry["request"]["url"] = f"https://cdn{n % 50}.vendor{n % 13}.example/asset{n % 997}.js"
            handle.write(("," if n else "") + json.dumps(entry) + "\n")
            n += 1
        handle.write("]}}\n")


def write_sbom(path: Path, megabytes: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [\n')
        n = 0
        while handle.tell() < megabytes * 1_000_000:
            component = {"type": "library", "name": f"lib{n}", "version": "1.0.0",
                         "purl": f"pkg:maven/org.example{n % 400}/lib{n}@1.0.0",
                         "supplier": {"name": f"Supplier {n % 400}"},
                         "licenses": [{"license": {"id": "Apache-2.0"}}], "description": "d" * 300}
            handle.write(("," if n else "") + json.dumps(component) + "\n")
            n += 1
        handle.write("]}\n")


def measure(command: list[str]) -> tuple[int, float]:
    """(peak resident set size in MiB, wall seconds) of one process."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M %e", *command], capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    kib, seconds = result.stderr.strip().splitlines()[-1].split()
    return int(kib) // 1024, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-inv-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, writer in (("session.har", write_har), ("bom.json", write_sbom)):
        path = args.work / name
        if not path.exists() or path.stat().st_size < args.mb * 1_000_000:
            writer(path, args.mb)
        size = path.stat().st_size // 1_000_000
        streamed = measure([sys.executable, "-m", "souverain", "inventory", str(path), "--format", "json",
                            "-o", str(args.work / "out.json")])
        whole = measure([sys.executable, "-c", WHOLE, str(path)])
        rows.append((name, size, streamed, whole))
        print(json.dumps({"file": name, "mb": size, "streamed": streamed, "json_loads_whole": whole}), flush=True)
    print("\n| file | size | souverain inventory (streamed): peak RSS, time | json.loads whole: peak RSS, time |")
    print("|---|---|---|---|")
    for name, size, (s_mib, s_s), (w_mib, w_s) in rows:
        print(f"| {name} | {size} MB | {s_mib} MiB, {s_s:.1f} s | {w_mib} MiB, {w_s:.1f} s |")


if __name__ == "__main__":
    main()
