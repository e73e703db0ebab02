"""Offline demonstration of the main job: scan organisations of the loopback test world.

Starts the test world's DNS server and HTTPS server (test CA) on 127.0.0.1, runs
`souverain scan` against them exactly as against the Internet (only --nameserver, --connect-to
and --ca-file differ), prints the verdict and writes demo-report.html, both in one language:
``--lang en|fr``, else the environment's (SOUVERAIN_LANG, LC_ALL, LC_MESSAGES, LANG), as every
souverain command chooses it.

    python scripts/demo.py [--lang fr] [DOMAIN...]
"""

import argparse
import subprocess
import sys
from pathlib import Path

from souverain.cli.options import environment_lang
from souverain.report.i18n import Translator
from souverain.testing.dnsserver import DNSServer
from souverain.testing.httpserver import TestCA, WebServer

WORLD = Path(__file__).resolve().parents[1] / "tests" / "data" / "world"
REPORT = "demo-report.html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "fr"), default=None)
    parser.add_argument("domains", nargs="*", default=["m365pp.test", "web.test"])
    args = parser.parse_args()
    lang = args.lang or environment_lang()
    dns = DNSServer(WORLD / "zones").start()
    ca = TestCA()
    web = WebServer(WORLD / "sites", ca).start()
    try:
        base = ["souverain", "scan", *args.domains, "--nameserver", f"127.0.0.1:{dns.port}", "--ca-file",
                str(ca.ca_file), "--no-store", "--timeout", "0.5", "--lang", lang, "--quiet"]
        for rule in web.connect_to():
            base += ["--connect-to", rule]
        table = subprocess.run(base, check=False, capture_output=True, text=True)
        verdict = table.stdout.split("\n\n", 1)[0]  # the verdict lines come first, then the tables
        print(verdict if table.returncode == 0 else table.stderr, end="\n\n")
        code = subprocess.call([*base, "--format", "html", "-o", REPORT])
        if code == 0:
            command = f"souverain scan {' '.join(args.domains)} --lang {lang}"
            print(Translator(lang)("demo.written", path=Path(REPORT).resolve(), command=command))
        return table.returncode or code
    finally:
        web.stop()
        dns.stop()
        ca.cleanup()


if __name__ == "__main__":
    sys.exit(main())
