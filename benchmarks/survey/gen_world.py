"""Generate a synthetic population of N domains as NSD zones, with a realistic record mix.

    python benchmarks/survey/gen_world.py 200000 /tmp/bench    # zones/, nsd.conf, domains.txt, queries.txt

Each domain is its own zone (SOA, NS, MX, TXT...) under the .test TLD, so every query is an
authoritative answer exactly as a resolver would get it. The mix (per 100 domains): 30 Microsoft
365, 15 Google, 5 behind a Proofpoint gateway, 5 AWS WorkMail/SES, 10 OVHcloud mail, 5 other EU
hosts, 15 self-managed MX (OVH, AWS, Hetzner, unknown addresses), 5 without MX, 2 null MX,
3 with a CNAME chain, and 5 % of the input names do not exist (NXDOMAIN: not served) and 2 %
are under a zone the server refuses (REFUSED, standing for failing names). Independently, 55 % of
the served domains publish DMARC (reports kept in-house for half of them, sent to a report
processor for a third: Valimail, dmarcian, Cloudflare, Mailhardener, which accept them through a
wildcard ``_report._dmarc`` record; Agari, which does not; or an unknown collector) and 8 % publish
TLS-RPT. Provider zones (outlook.com, google.com, pphosted.com, the processors...) are generated too. Names and addresses are fictitious
or documentation/test ranges except the provider address blocks, which are only ever queried,
never contacted.
"""

import random
import sys
from pathlib import Path

PROVIDERS = {
    "outlook.com": ["autodiscover IN A 52.96.0.1", 'spf.protection IN TXT "v=spf1 ip4:40.92.0.0/15 -all"'],
    "google.com": ["aspmx.l IN A 142.250.1.26", 'spf IN TXT "v=spf1 ip4:35.190.247.0/24 ~all"'],
    "pphosted.com": ["mx0a IN A 148.163.150.1", '_spf IN TXT "v=spf1 ip4:148.163.128.0/19 -all"'],
    "amazonaws.com": ["inbound-smtp.eu-west-1 IN A 52.95.110.25"],
    "amazonses.com": ['@ IN TXT "v=spf1 ip4:54.240.0.0/18 -all"'],
    "ovh.net": ["mx1.mail IN A 188.165.36.237", "dns100 IN A 213.251.188.140"],
    "ovh.com": ['mx IN TXT "v=spf1 ip4:188.165.0.0/16 ~all"'],
    "infomaniak.ch": ["mta-gw IN A 83.166.143.10", 'spf IN TXT "v=spf1 ip4:83.166.143.0/24 -all"'],
    "cloudflare.com": ["ada.ns IN A 173.245.58.10"],
    # DMARC report processors: RFC 7489 7.1 authorisation for every customer domain (wildcard)
    "vali.email": ['*._report._dmarc IN TXT "v=DMARC1"'],
    "dmarcian.com": ['*._report._dmarc.ag IN TXT "v=DMARC1"'],
    "cloudflare.net": ['*._report._dmarc.dmarc-reports IN TXT "v=DMARC1"'],
    "mailhardener.com": ['*._report._dmarc.in IN TXT "v=DMARC1"'],
    "agari.com": ["rua IN MX 10 mx.agari.com."],  # no authorisation: compliant receivers send nothing
    "collector.example": ['*._report._dmarc.reports IN TXT "v=DMARC1"'],
}
PROCESSORS = [  # (rua mailbox host, weight in % of DMARC records)
    ("vali.email", 8), ("ag.dmarcian.com", 8), ("dmarc-reports.cloudflare.net", 6), ("in.mailhardener.com", 5),
    ("rua.agari.com", 3), ("reports.collector.example", 5),
]


def reporting_records(rng: random.Random, name: str) -> list[str]:
    """_dmarc and _smtp._tls TXT records for 55 % / 8 % of the domains."""
    out = []
    if rng.random() < 0.55:
        tags = "v=DMARC1; p=" + rng.choice(["none", "quarantine", "reject"])
        hosts = [name, None] + [host for host, _ in PROCESSORS]  # in-house, no rua, processors
        host = rng.choices(hosts, weights=[50, 15] + [weight for _, weight in PROCESSORS])[0]
        if host is not None:
            tags += f"; rua=mailto:dmarc-{name.split('.')[0]}@{host}"
        out.append(f'_dmarc IN TXT "{tags}"')
    if rng.random() < 0.08:
        target = rng.choice([f"tls@{name}", "tls@in.mailhardener.com"])
        out.append(f'_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:{target}"')
    return out


def zone_text(origin: str, body: list[str], ns: str = "ns1.nsbench.test.") -> str:
    head = [f"$ORIGIN {origin}.", "$TTL 3600", f"@ IN SOA {ns} hostmaster.{origin}. 1 3600 600 86400 300",
            f"@ IN NS {ns}"]
    return "\n".join(head + body) + "\n"


def domain_body(n: int, rng: random.Random, name: str) -> list[str]:
    kind = rng.random()
    dashed = name.replace(".", "-")
    if kind < 0.30:
        return [f"@ IN MX 0 {dashed}.mail.protection.outlook.com.", '@ IN TXT "v=spf1 include:spf.protection.outlook.com -all"',
                f'@ IN TXT "MS=ms{n:08d}"', "autodiscover IN CNAME autodiscover.outlook.com.", "www IN A 51.91.0.80"]
    if kind < 0.45:
        return ["@ IN MX 1 aspmx.l.google.com.", '@ IN TXT "v=spf1 include:_spf.google.com ~all"',
                f'@ IN TXT "google-site-verification=tok{n}"', "www IN A 216.239.32.21"]
    if kind < 0.50:
        return ["@ IN MX 10 mx0a.pphosted.com.", '@ IN TXT "v=spf1 include:spf.protection.outlook.com include:_spf.pphosted.com -all"',
                "autodiscover IN CNAME autodiscover.outlook.com."]
    if kind < 0.55:
        return ["@ IN MX 10 inbound-smtp.eu-west-1.amazonaws.com.", '@ IN TXT "v=spf1 include:amazonses.com -all"']
    if kind < 0.65:
        return ["@ IN MX 1 mx1.mail.ovh.net.", '@ IN TXT "v=spf1 include:mx.ovh.com ~all"', "www IN A 51.91.0.81"]
    if kind < 0.70:
        return ["@ IN MX 5 mta-gw.infomaniak.ch.", '@ IN TXT "v=spf1 include:spf.infomaniak.ch -all"']
    if kind < 0.85:
        address = rng.choice(["51.68.0.25", "3.120.0.25", "5.9.1.1", "192.0.2.25"])
        return ["@ IN MX 10 mail", f"mail IN A {address}", '@ IN TXT "v=spf1 mx -all"', f"www IN A {address}"]
    if kind < 0.90:
        return ["www IN A 51.91.0.82"]
    if kind < 0.92:
        return ["@ IN MX 0 ."]
    return ["@ IN MX 10 mx", "mx IN CNAME mx2", "mx2 IN CNAME host", "host IN A 51.68.0.26"]


def main() -> None:
    count = int(sys.argv[1])
    out = Path(sys.argv[2])
    zones = out / "zones"
    zones.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    names = [f"d{n}.bench{n % 97}.test" for n in range(count)]
    conf = ["server:", "  ip-address: 127.0.0.1@5354", "  server-count: 2", '  zonelistfile: ""', '  database: ""',
            "  rrl-ratelimit: 0", "  rrl-whitelist-ratelimit: 0", "  rrl-slip: 0", "  verbosity: 0",
            f'  pidfile: "{out}/nsd.pid"', '  logfile: "/dev/null"', f'  xfrdfile: "{out}/xfrd.state"',
            "remote-control:", "  control-enable: no", "pattern:", "  name: plain", f'  zonefile: "{zones}/%s.zone"']
    served = []
    for origin, body in PROVIDERS.items():
        (zones / f"{origin}.zone").write_text(zone_text(origin, body))
        served.append(origin)
    (zones / "nsbench.test.zone").write_text(zone_text("nsbench.test", ["ns1 IN A 51.91.0.53"]))
    served.append("nsbench.test")
    input_names = []
    for n, name in enumerate(names):
        roll = rng.random()
        if roll < 0.05:  # listed in the input, not served: NXDOMAIN-like (REFUSED by an authoritative server)
            input_names.append(name)
            continue
        if roll < 0.07:  # failing names: served zone answering nothing for them is not possible; refused
            input_names.append(f"x{n}.failing.invalid")
            continue
        body = domain_body(n, rng, name) + reporting_records(rng, name)
        (zones / f"{name}.zone").write_text(zone_text(name, body))
        served.append(name)
        input_names.append(name)
    conf += [f"zone:\n  name: {origin}\n  include-pattern: plain" for origin in served]
    (out / "nsd.conf").write_text("\n".join(conf) + "\n")
    (out / "domains.txt").write_text("\n".join(input_names) + "\n")
    queries = []
    for name in input_names[: min(len(input_names), 100_000)]:
        queries += [f"{name} MX", f"{name} TXT", f"_dmarc.{name} TXT", f"{name} NS"]
    (out / "queries.txt").write_text("\n".join(queries) + "\n")
    print(f"{len(served)} zones, {len(input_names)} input names, {len(queries)} dnsperf queries in {out}")


if __name__ == "__main__":
    main()
