"""Peak memory and time of `souverain inventory` on a big CycloneDX XML SBOM (about --mb
megabytes), streamed (this tree) against the same command at --before (a commit whose reader
parsed the file whole with ElementTree) and against ElementTree.fromstring alone. Each run is its
own process, measured by /usr/bin/time (maximum resident set size, wall time); with --rounds N
the three commands run N times interleaved and each figure is the fastest round (peak memory does
not vary between rounds), which keeps a shared machine's load from favouring one of them.

    python benchmarks/inventory/bench_xml.py --mb 200 --rounds 3 --before 2d593b2~1 --work /tmp/souverain-xml-bench
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).parents[2]
WHOLE = "import sys, xml.etree.ElementTree as ET; ET.fromstring(open(sys.argv[1], 'rb').read())"


def write_bom(path: Path, megabytes: int) -> int:
    """A CycloneDX 1.6 XML SBOM of flat components (as bench_json.write_sbom), every tenth with two nested ones."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">\n<components>\n')
        while handle.tell() < megabytes * 1_000_000:
            n = count
            nested = "".join(f"<component type=\"library\"><name>dep{n}-{k}</name><version>0.{k}</version>"
                             f"<purl>pkg:npm/dep{n % 300}-{k}@0.{k}</purl></component>" for k in range(2))
            handle.write(f'<component type="library"><supplier><name>Supplier {n % 400}</name></supplier>'
                         f"<name>lib{n}</name><version>1.0.0</version>"
                         f"<description>{'d' * 300}</description>"
                         f"<licenses><license><id>Apache-2.0</id></license></licenses>"
                         f"<purl>pkg:maven/org.example{n % 400}/lib{n}@1.0.0</purl>"
                         + (f"<components>{nested}</components>" if n % 10 == 0 else "") + "</component>\n")
            count += 1
        handle.write("</components>\n</bom>\n")
    return count


def measure(command: list[str], src: Path) -> tuple[int, float]:
    """(peak resident set size in MiB, wall seconds) of one process importing souverain from ``src``."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M %e", *command], capture_output=True, text=True, check=False,
                            env={**os.environ, "PYTHONPATH": str(src)})
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    kib, seconds = result.stderr.strip().splitlines()[-1].split()
    return int(kib) // 1024, float(seconds)


def source_at(commit: str, work: Path) -> Path:
    """The package sources of ``commit`` (git archive), unpacked under ``work``."""
    target = work / f"src-{commit.replace('~', '_').replace('/', '_')}"
    if not target.exists():
        archive = work / "src.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), commit, "src"], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        archive.unlink()
    return target / "src"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--before", default="2d593b2~1", help="commit of the whole-document reader")
    parser.add_argument("--work", type=Path, default=Path("/tmp/souverain-xml-bench"))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / "bom.xml"
    if not path.exists() or path.stat().st_size < args.mb * 1_000_000:
        write_bom(path, args.mb)
    size = path.stat().st_size // 1_000_000
    command = [sys.executable, "-m", "souverain", "inventory", str(path), "--format", "json", "-o",
               str(args.work / "out.json")]
    old_src = source_at(args.before, args.work)
    runs: dict[str, list[tuple[int, float]]] = {"streamed": [], "before": [], "elementtree_whole": []}
    for _ in range(args.rounds):
        runs["streamed"].append(measure(command, ROOT / "src"))
        runs["before"].append(measure(command, old_src))
        runs["elementtree_whole"].append(measure([sys.executable, "-c", WHOLE, str(path)], ROOT / "src"))
        print(json.dumps({"file": path.name, "mb": size, **{k: v[-1] for k, v in runs.items()}}), flush=True)
    streamed, before, whole = (min(runs[k], key=lambda run: run[1]) for k in runs)
    print(f"\nfastest of {args.rounds} round(s):")
    print("\n| file | streamed: peak RSS, time | before (parsed whole): peak RSS, time | ET.fromstring alone |")
    print("|---|---|---|---|")
    print(f"| {path.name}, {size} MB | {streamed[0]} MiB, {streamed[1]:.1f} s | {before[0]} MiB, {before[1]:.1f} s "
          f"| {whole[0]} MiB, {whole[1]:.1f} s |")


if __name__ == "__main__":
    main()
