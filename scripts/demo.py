"""Offline demonstration of the main job: scan organisations of the loopback test world.

Starts the test world's DNS server and HTTPS server (test CA) on 127.0.0.1, runs
`souverain scan` against them exactly as against the Internet (only --nameserver, --connect-to
and --ca-file differ), prints the terminal report and writes demo-report.html.
"""

import subprocess
import sys
from pathlib import Path

from souverain.testing.dnsserver import DNSServer
from souverain.testing.httpserver import TestCA, WebServer

WORLD = Path(__file__).resolve().parents[1] / "tests" / "data" / "world"


def main() -> int:
    domains = sys.argv[1:] or ["m365pp.test", "web.test"]
    dns = DNSServer(WORLD / "zones").start()
    ca = TestCA()
    web = WebServer(WORLD / "sites", ca).start()
    try:
        base = ["souverain", "scan", *domains, "--nameserver", f"127.0.0.1:{dns.port}", "--ca-file", str(ca.ca_file),
                "--no-store", "--timeout", "0.5"]
        for rule in web.connect_to():
            base += ["--connect-to", rule]
        code = subprocess.call(base)
        subprocess.call([*base, "--format", "html", "-o", "demo-report.html", "--lang", "fr"])
        return code
    finally:
        web.stop()
        dns.stop()
        ca.cleanup()


if __name__ == "__main__":
    sys.exit(main())
