"""Screenshots of the HTML reports for the README, from the loopback test world (regenerable).

Starts the test world's DNS and HTTPS servers on 127.0.0.1 (as `make demo` does), writes a scan
report, an assessment, a comparison and a survey report with `souverain`, starts `souverain serve`
on 127.0.0.1 for a knowledge-base entity page (owners over time), and photographs the top of each
page in headless Chromium at 1280 px (Playwright with Debian's /usr/bin/chromium):

    python scripts/screenshots.py [--out docs/screenshots] [--lang en|fr] [--chromium PATH]
"""

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from souverain.testing.dnsserver import DNSServer
from souverain.testing.httpserver import TestCA, WebServer

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "tests" / "data" / "world"
# the .test organisations of the world that answer (not the fault zones), for the survey
SURVEYED = ["m365pp.test", "gworkspace.test", "selfovh.test", "web.test", "infomaniak.test", "awsmail.test",
            "hybrid.test", "filtered.test", "gcpmail.test", "colo.test", "infomulti.test", "ovhmail.test"]
REGIONS = ["11", "84", "76", "93", "44", "75"]  # French regions, for the map


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", choices=("en", "fr"), default="en")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    dns = DNSServer(WORLD / "zones").start()
    ca = TestCA()
    web = WebServer(WORLD / "sites", ca).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            net = ["--nameserver", f"127.0.0.1:{dns.port}", "--timeout", "0.5"]
            scan = ["scan", "m365pp.test", "web.test", *net, "--ca-file", str(ca.ca_file), "--no-store", "--quiet",
                    *(f"--connect-to={rule}" for rule in web.connect_to())]
            population = work / "communes.csv"
            population.write_text("domain,region\n" + "".join(
                f"{domain},{REGIONS[i % len(REGIONS)]}\n" for i, domain in enumerate(SURVEYED)))
            db = f"sqlite:///{work / 'survey.db'}"
            pages = {
                "scan": [*scan, "--format", "html"],
                "assess": ["assess", "ovhcloud-secnumcloud", "--format", "html"],
                "compare": ["compare", "aws-esc", "ovhcloud-secnumcloud", "s3ns-premi3ns", "--format", "html"],
                "survey": ["survey", "report", "communes", "--group-by", "region", "--db", db, "--format", "html"],
            }
            souverain = [sys.executable, "-m", "souverain"]
            subprocess.run([*souverain, "survey", str(population), *net, "--db", db, "--name", "communes",
                            "--quiet", "--workers", "1"], check=True)
            with sync_playwright() as play:
                browser = play.chromium.launch(executable_path=args.chromium)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                for name, command in pages.items():
                    html = work / f"{name}.html"
                    subprocess.run([*souverain, *command, "--lang", args.lang, "-o", str(html)], check=True)
                    page.goto(html.as_uri())
                    page.screenshot(path=str(args.out / f"{name}.png"))
                    print(args.out / f"{name}.png")
                served(page, souverain, work, args)
                browser.close()
    finally:
        web.stop()
        dns.stop()
        ca.cleanup()
    return 0


def served(page, souverain: list[str], work: Path, args: argparse.Namespace) -> None:
    """The web application's entity page of Skype (owners over time), from a server on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*souverain, "serve", "--port", str(port), "--db", f"sqlite:///{work / 'web.db'}",
                               "--data-dir", str(work / "data")], stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("souverain serve did not start") from None
                time.sleep(0.3)
        page.goto(f"{base}/kb/skype?lang={args.lang}")
        page.screenshot(path=str(args.out / "serve.png"))
        print(args.out / "serve.png")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
