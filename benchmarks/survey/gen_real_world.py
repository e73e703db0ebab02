"""Generate a realistic population of N domains as NSD zones, its record mix drawn from the recordings.

    python benchmarks/survey/gen_real_world.py 200000 /tmp/bench-real   # zones/, nsd.conf, domains.txt,
                                                                        # queries.txt, distributions.{json,md}

The peers' recordings in ../shared/eval (6,084 distinct Swiss, Nordic and Hungarian municipal
domains: MX hosts, SPF, DKIM selector CNAMEs, autodiscover, verification TXT, M365 tenant, MX host
ASNs) are the profiles. Synthetic domain n takes the profile at position n % P of a shuffled
round of all P profiles (round n // P; each round uses every profile once, so every complete
round has exactly the recorded mix, joint features included: an M365 MX comes with its
autodiscover, DKIM and tenant as recorded). Its name is ``m<n>.<the profile's public suffix>``.

Names are placed as follows:
- names under the recorded domain (``mail.<domain>``, ``_spf.<domain>``) move under the synthetic one;
- names that carry the domain (``<domain-dashed>.mail.protection.outlook.com``, DKIM CNAME targets)
  carry the synthetic domain instead: one per domain, as in reality;
- shared provider names (MX hosts, SPF includes, autodiscover targets) of a provider domain named by
  at least ``--global-share`` of the recorded domains (0.5 %: outlook.com, google.com,
  infomaniak.ch, mailjet.com...) are the same names at any scale; those of smaller providers
  (regional IT services) are cloned per round (``mailgw01.zii.ch`` -> ``mailgw01-r3.zii.ch`` in
  round 3), so the number of distinct hosts a survey must resolve per domain stays the recorded one.

Addresses: an MX host gets an address inside the ASN recorded for it (replay.py's votes), else the
address or ASN of the domain's own SPF ip4 terms, else an ASN of the same provider domain, else an
ASN drawn (by hash) from the dataset's SPF addresses; IP-to-ASN attribution therefore works as
on the real data. SPF include records are the Nordic flattened records (replay.py's dictionary);
includes that no recording shows are served as leaves (``v=spf1 ?all``).

Not recorded by the peers, assumed as in gen_world.py: 5 % of the input names do not exist
(NXDOMAIN from the served TLD zone), 2 % are refused (failing names), DMARC on 55 % and TLS-RPT on
8 % of the domains (gen_world.reporting_records), and the NS: two names per domain at one of
N/200 synthetic DNS hosts (Zipf popularity), with addresses in hosting ASNs.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import hashlib
import ipaddress
import itertools
import json
import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_world
import recordings
from recordings import Spec, replay

from souverain.kb.ipasn import IPASNTable
from souverain.kb.psl import PublicSuffixList

# ../shared/eval beside the repository (replay.py's default), looked up from a worktree too
DEFAULT_EVAL = next((p / "shared" / "eval" for p in HERE.parents if (p / "shared" / "eval").is_dir()),
                    HERE.parents[2] / "shared" / "eval")
NXDOMAIN_SHARE, REFUSED_SHARE = 0.05, 0.02  # not recorded: as gen_world.py
# NS hosts (not recorded): addresses in hosting networks (Cloudflare, OVH, Hetzner, Infomaniak,
# Swisscom, AWS, Telia, Magyar Telekom, Rackforest)
NS_ASNS = (13335, 16276, 24940, 29222, 3303, 16509, 1299, 5483, 62214)
PROCESSOR_ZONES = ("vali.email", "dmarcian.com", "cloudflare.net", "mailhardener.com", "agari.com", "collector.example")
MICROSOFT_ASN = 8075
NOT_RECORDED = ("input names not existing (NXDOMAIN) %", "input names failing (REFUSED) %")
IP4_RE = re.compile(r"\bip4:(\d+\.\d+\.\d+\.\d+)(?:/(\d+))?", re.IGNORECASE)
TARGET_RE = re.compile(r"\b(include:|redirect=)(\S+)", re.IGNORECASE)
STUB_SPF = replay.STUB_SPF


class StandIns:
    """Deterministic IPv4 addresses inside the prefixes an ASN announces (as replay.World.stand_in).

    The table is indexed by ASN in one pass: asking ``IPASNTable.prefixes_of`` for each of the few
    hundred ASNs would scan the whole table every time.
    """

    def __init__(self, table: IPASNTable) -> None:
        starts, ends, asns = (table._a[f"v4_{part}"] for part in ("starts", "ends", "asns"))
        self._starts, self._ends = starts, ends
        self._by_asn: dict[int, list[int]] = collections.defaultdict(list)
        for index, asn in enumerate(asns):
            self._by_asn[asn].append(index)
        self._ranges: dict[int, list[tuple[int, int]]] = {}

    def __call__(self, name: str, asn: int) -> str | None:
        ranges = self._ranges.get(asn)
        if ranges is None:
            ranges = [(self._starts[i], self._ends[i]) for i in self._by_asn.get(asn, ())
                      if self._ends[i] - self._starts[i] >= 3]
            ranges.sort(key=lambda r: (r[0] - r[1], r[0]))  # largest first
            ranges = self._ranges[asn] = ranges[:16]
        if not ranges:
            return None
        digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
        lo, hi = ranges[digest % len(ranges)]
        return str(ipaddress.IPv4Address(lo + 1 + (digest >> 8) % (hi - lo - 1)))


class Generator:
    def __init__(self, count: int, out: Path, eval_dir: Path, seed: int, global_share: float) -> None:
        self.count, self.out, self.seed = count, out, seed
        self.profiles, self.spf_dict, self.host_asn, self.load_stats = recordings.load(eval_dir)
        self.ip_table = IPASNTable.load()
        self.psl = PublicSuffixList.bundled()
        self.stand_in = StandIns(self.ip_table)
        self.stats = collections.Counter()
        self._registrable: dict[str, str] = {}
        self.popularity = self._popularity()
        floor = global_share * len(self.profiles)
        self.global_domains = {d for d, n in self.popularity.items() if n >= floor}
        self._provider_asn = self._provider_asns()
        self._dataset_asns = self._dataset_asn_pools()
        self._host_asn_cache: dict[str, tuple[int | None, str | None, str]] = {}
        self.shared: dict[str, list[str]] = collections.defaultdict(list)  # zone -> absolute records
        self.made: set[str] = set()  # shared names already given their records
        self.spf_texts: dict[str, str] = {}  # every SPF text served outside the domains' apexes
        self.tlds: set[str] = set()

    # -- names ------------------------------------------------------------------------------
    def registrable(self, name: str) -> str:
        found = self._registrable.get(name)
        if found is None:
            try:
                found = self.psl.registrable_domain(name, private=False) or name
            except ValueError:
                found = name
            self._registrable[name] = found
        return found

    def _popularity(self) -> collections.Counter:
        """Provider domain -> recorded domains naming it (MX, SPF includes, DKIM and autodiscover targets)."""
        pop = collections.Counter()
        for p in self.profiles:
            own = self.registrable(p.domain)
            names = [*p.mx, *(n.lower().rstrip(".") for n in replay.spf_names(p.spf)), *p.dkim.values(),
                     *(x for x in (p.autodiscover_cname, p.autodiscover_srv) if x)]
            pop.update({self.registrable(n) for n in names} - {own})
        return pop

    def place(self, name: str, ctx: dict) -> tuple[str, str]:
        """(synthetic name, kind) of a recorded name in the context of one synthetic domain."""
        name = name.lower().rstrip(".")
        rec, syn = ctx["rec"], ctx["syn"]
        if name == rec:
            return syn, "own"
        if name.endswith("." + rec):
            return name[: -len(rec)] + syn, "own"
        if ctx["dashed"] in name:
            dashed = re.compile(rf"(?<![a-z0-9]){re.escape(ctx['dashed'])}(?![a-z0-9])")
            placed = dashed.sub(ctx["syn_dashed"], name)
            if placed != name:
                return placed, "per-domain"
        label = ctx["label"]
        if label:
            labels = name.split(".")
            if label in labels[:-2]:
                return ".".join(ctx["syn_label"] if x == label else x for x in labels), "per-domain"
        domain = self.registrable(name)
        if ctx["round"] == 0 or domain in self.global_domains:
            return name, "shared"
        if name.count(".") > domain.count("."):
            first, rest = name.split(".", 1)
            return f"{first}-r{ctx['round']}.{rest}", "shared"
        return f"r{ctx['round']}.{name}", "shared"

    def zone_of(self, placed: str, original: str) -> str:
        zone = self.registrable(original)
        return zone if placed.endswith("." + zone) or placed == zone else self.registrable(placed)

    # -- addresses --------------------------------------------------------------------------
    def _provider_asns(self) -> dict[str, int]:
        votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for host, asn in self.host_asn.items():
            votes[self.registrable(host)][asn] += 1
        return {d: min(a for a, c in v.items() if c == max(v.values())) for d, v in votes.items()}

    def _dataset_asn_pools(self) -> dict[str, list[int]]:
        pools: dict[str, list[int]] = collections.defaultdict(list)
        for p in self.profiles:
            for address, _ in IP4_RE.findall(p.spf)[:1]:
                hit = self.ip_table.lookup(address)
                if hit:
                    pools[p.dataset].append(hit.asn)
        return {k: sorted(v) for k, v in pools.items()}

    def asn_for(self, host: str, profile) -> tuple[int | None, str | None, str]:
        """(ASN, a recorded address to reuse or None, how it was found) for a recorded MX host."""
        if host in self._host_asn_cache:
            return self._host_asn_cache[host]
        found: tuple[int | None, str | None, str]
        if host in self.host_asn:
            found = (self.host_asn[host], None, "recorded ASN")
        elif host.replace(".", "").isdigit():  # an IP address written as an MX name: no address
            found = (None, None, "IP literal as MX name (no address)")
        elif (asn := self._provider_asn.get(self.registrable(host))) is not None:
            found = (asn, None, "ASN of the provider's other hosts")
        else:
            found = (None, None, "")
            for address, length in IP4_RE.findall(profile.spf):
                hit = self.ip_table.lookup(address)
                if hit:
                    found = (hit.asn, address if length in ("", "32") else None, "the domain's SPF ip4")
                    break
            if found[0] is None and profile.spf_ip_asns:
                found = (profile.spf_ip_asns[0], None, "the domain's SPF address ASN (signal)")
            if found[0] is None:
                pool = self._dataset_asns.get(profile.dataset) or [MICROSOFT_ASN]
                digest = int(hashlib.sha256(host.encode()).hexdigest()[:12], 16)
                found = (pool[digest % len(pool)], None, "drawn from the dataset's SPF address ASNs")
        self._host_asn_cache[host] = found
        return found

    def address(self, name: str, asn: int | None, reuse: str | None = None) -> str | None:
        if reuse:
            return reuse
        return self.stand_in(name, asn) if asn else None

    # -- records ----------------------------------------------------------------------------
    def add_shared(self, name: str, original: str, rdtype: str, value: str) -> None:
        self.shared[self.zone_of(name, original)].append(f"{name}. IN {rdtype} {value}")

    def spf_text(self, text: str, ctx: dict, body: list[str]) -> str:
        """``text`` with its include/redirect targets placed, and their records made (recursively)."""
        def swap(m: re.Match) -> str:
            target = m.group(2).lower().rstrip(".")
            if "%" in target or not replay.HOST_RE.match(target):
                self.stats["spf targets left as recorded (macro or invalid name)"] += 1
                return m.group(0)
            placed, kind = self.place(target, ctx)
            self.tlds.add(placed.rsplit(".", 1)[-1])
            if placed in self.made or placed in ctx["spf_seen"]:
                return m.group(1) + placed
            (self.made if kind == "shared" else ctx["spf_seen"]).add(placed)
            known = self.spf_dict.get(target)
            self.stats["spf includes served from the Nordic records" if known else "spf includes served as leaves"] += 1
            served = self.spf_text(known, ctx, body) if known else STUB_SPF
            self.spf_texts[placed] = served
            if kind == "own":
                body.append(f"{placed}. IN TXT {replay._txt(served)}")
            else:
                self.add_shared(placed, target, "TXT", replay._txt(served))
            return m.group(1) + placed
        return TARGET_RE.sub(swap, text)

    def put(self, name: str, original: str, rdtype: str, value: str, ctx: dict, body: list[str]) -> None:
        """A record in the domain's own zone when ``name`` is under it, else in its provider's zone."""
        syn = ctx["syn"]
        if name == syn or name.endswith("." + syn):
            if name in ctx["aliases"]:  # an alias holds no other data (autodiscover CNAME and SRV target)
                return
            if rdtype == "CNAME":
                ctx["aliases"].add(name)
            body.append(f"{name}. IN {rdtype} {value}")
        else:
            self.add_shared(name, original, rdtype, value)

    def mx_host(self, host: str, ctx: dict, profile, body: list[str]) -> tuple[str, str, str | None, int | None, bool]:
        """(placed name, kind, address, its ASN, is a CNAME) of one recorded MX host, its records made once."""
        placed, kind = self.place(host, ctx)
        self.tlds.add(placed.rsplit(".", 1)[-1])
        if kind == "shared" and placed in self._served:
            return (placed, kind, *self._served[placed])
        asn, reuse, how = self.asn_for(host, profile)
        self.stats[f"MX host address: {how}"] += 1
        end, end_original, target = placed, host, profile.mx_cname.get(host)
        if target:
            end, _ = self.place(target, ctx)
            end_original = target
            self.put(placed, host, "CNAME", f"{end}.", ctx, body)
        addr = None if host.replace(".", "").isdigit() else self.address(end, asn, reuse)
        if addr and end not in self.made:
            self.put(end, end_original, "A", addr, ctx, body)
        if target or kind == "shared":
            self.made.add(end)
        if kind == "shared":
            self.made.add(placed)
            self._served[placed] = (addr, asn, target is not None)
        return placed, kind, addr, asn, target is not None

    def domain(self, n: int, profile, rng: random.Random, ns: tuple[str, str]) -> tuple[str, Spec]:
        rec = profile.domain
        registrable = self.registrable(rec) == rec
        suffix = self.psl.public_suffix(rec, private=False) if registrable else rec.split(".", 1)[1]
        if not registrable:  # under a registrable parent (alpnach.ow.ch): the parent is served too
            self.parents.add(suffix)
        syn = f"m{n}.{suffix}"
        label = rec.split(".")[0]
        ctx = {"rec": rec, "syn": syn, "round": n // len(self.profiles), "dashed": rec.replace(".", "-"),
               "syn_dashed": syn.replace(".", "-"), "label": label if len(label) >= 5 else None,
               "syn_label": f"m{n}", "spf_seen": set(), "aliases": set()}
        spec = Spec(profile.dataset, "yes")
        self.tlds.add(syn.rsplit(".", 1)[-1])
        body: list[str] = []
        for i, host in enumerate(profile.mx):
            if not replay.HOST_RE.match(host) and not host.replace(".", "").isdigit():
                self.stats["MX names skipped (invalid)"] += 1
                continue
            placed, kind, addr, asn, cname = self.mx_host(host, ctx, profile, body)
            body.append(f"@ IN MX {10 * (i + 1)} {placed}.")
            spec.mx.append(placed)
            spec.mx_own.append(kind == "own")
            spec.mx_address[placed] = addr is not None
            spec.mx_cname = spec.mx_cname or cname
            if i == 0 and addr:
                spec.mx_asn = asn
                spec.mx_asn_recorded = host in self.host_asn
                self.check.append((addr, asn))
        # apex TXT: SPF and verification tokens
        if profile.spf:
            spf = self.spf_text(profile.spf, ctx, body)
            body.append(f"@ IN TXT {replay._txt(spf)}")
            spec.spf = spf
        for kind, token in sorted(profile.tokens.items()):
            prefix = replay.VERIFICATION_PREFIX.get(kind)
            if prefix:
                token = token or (f"ms{n:08d}" if kind == "microsoft" else hashlib.sha256(syn.encode()).hexdigest()[:43])
                body.append(f"@ IN TXT {replay._txt(prefix + token)}")
            spec.tokens += (kind,)
        if profile.amazonses or "amazonses" in profile.tokens:
            body.append('_amazonses IN TXT "bench-token"')
        # DKIM selector CNAMEs and autodiscover
        for selector, target in sorted(profile.dkim.items()):
            placed, _ = self.place(target, ctx)
            body.append(f"{selector}._domainkey IN CNAME {placed}.")
            if placed not in self.made:
                self.made.add(placed)
                self.put(placed, target, "TXT", '"v=DKIM1; k=rsa; p=bench"', ctx, body)
            spec.dkim += (selector,)
        for rdtype, target in (("CNAME", profile.autodiscover_cname), ("SRV", profile.autodiscover_srv)):
            if not target:
                continue
            placed, _ = self.place(target, ctx)
            owner = f"autodiscover.{syn}" if rdtype == "CNAME" else f"_autodiscover._tcp.{syn}"
            self.put(owner, owner, rdtype, f"{'0 0 443 ' if rdtype == 'SRV' else ''}{placed}.", ctx, body)
            if placed not in self.made:
                self.made.add(placed)
                asn, reuse, _ = self.asn_for(target, profile)
                addr = self.address(placed, asn, reuse)
                if addr:
                    self.put(placed, target, "A", addr, ctx, body)
            spec.autodiscover = spec.autodiscover or rdtype.lower()
        # the tenant's Exchange Online host, where a tenant was recorded (look-through asks it)
        if profile.tenant in ("Managed", "Federated"):
            eop = f"{ctx['syn_dashed']}.mail.protection.outlook.com"
            if eop not in spec.mx:
                self.add_shared(eop, eop, "A", self.address(eop, MICROSOFT_ASN))
            spec.tenant_host = True
        # DMARC and TLS-RPT: not recorded (assumed as gen_world), except the Swiss Agari signal
        for line in gen_world.reporting_records(rng, syn):
            if line.startswith("_dmarc"):
                if profile.dmarc:
                    continue
                spec.dmarc = _dmarc_kind(line, syn)
            else:
                spec.tlsrpt = True
            body.append(line)
        if profile.dmarc:
            body.append(f"_dmarc IN TXT {replay._txt(profile.dmarc)}")
            spec.dmarc = "rua at a processor"
        spec.tlsrpt = bool(spec.tlsrpt)
        head = [f"$ORIGIN {syn}.", "$TTL 3600", f"@ IN SOA {ns[0]}. hostmaster.{syn}. 1 3600 600 86400 300",
                f"@ IN NS {ns[0]}.", f"@ IN NS {ns[1]}."]
        (self.out / "zones" / f"{syn}.zone").write_text("\n".join(head + body) + "\n")
        return syn, spec

    # -- the world --------------------------------------------------------------------------
    def run(self) -> dict:
        started = time.monotonic()
        zones = self.out / "zones"
        zones.mkdir(parents=True, exist_ok=True)
        rng = random.Random(self.seed)
        self._served: dict[str, tuple] = {}  # shared MX host -> (address, ASN, is a CNAME)
        self.check: list[tuple[str, int]] = []  # (first MX address, intended ASN), sampled for the report
        self.parents: set[str] = set()
        hosters = max(50, self.count // 200)
        cumulative = list(itertools.accumulate(1 / (k + 1) for k in range(hosters)))
        served, input_names, specs = [], [], []
        order: list = []
        for n in range(self.count):
            if n % len(self.profiles) == 0:
                order = list(self.profiles)
                rng.shuffle(order)
            profile = order[n % len(self.profiles)]
            roll = rng.random()
            if roll < REFUSED_SHARE:
                input_names.append(f"x{n}.failing.invalid")
                specs.append(Spec(profile.dataset, "refused"))
                continue
            if roll < REFUSED_SHARE + NXDOMAIN_SHARE:
                suffix = self.psl.public_suffix(profile.domain, private=False)
                input_names.append(f"m{n}.{suffix}")
                self.tlds.add(suffix.rsplit(".", 1)[-1])
                specs.append(Spec(profile.dataset, "nxdomain"))
                continue
            k = bisect.bisect_left(cumulative, rng.random() * cumulative[-1])
            name, spec = self.domain(n, profile, rng, (f"ns1.h{k}.dnsbench.test", f"ns2.h{k}.dnsbench.test"))
            served.append(name)
            input_names.append(name)
            specs.append(spec)
        # NS hosts, report processors, TLDs, provider zones
        dnsbench = []
        for k in range(hosters):
            for i in (1, 2):
                host = f"ns{i}.h{k}.dnsbench.test"
                dnsbench.append(f"ns{i}.h{k} IN A {self.stand_in(host, NS_ASNS[k % len(NS_ASNS)])}")
        (zones / "dnsbench.test.zone").write_text(gen_world.zone_text("dnsbench.test", dnsbench))
        (zones / "nsbench.test.zone").write_text(gen_world.zone_text("nsbench.test", ["ns1 IN A 51.91.0.53"]))
        extra = {origin: list(gen_world.PROVIDERS[origin]) for origin in PROCESSOR_ZONES}
        origins = set(self.shared) | set(extra) | self.parents
        for origin in sorted(origins):
            lines = extra.get(origin, []) + self.shared.get(origin, [])
            (zones / f"{origin}.zone").write_text(gen_world.zone_text(origin, lines))
        tlds = sorted(self.tlds - origins - {"invalid", "test"})
        for tld in tlds:
            (zones / f"{tld}.zone").write_text(gen_world.zone_text(tld, []))
        zone_names = served + sorted(origins) + tlds + ["dnsbench.test", "nsbench.test"]
        self.write_conf(zone_names)
        (self.out / "domains.txt").write_text("\n".join(input_names) + "\n")
        queries = [q for name in input_names[:100_000]
                   for q in (f"{name} MX", f"{name} TXT", f"_dmarc.{name} TXT", f"{name} NS")]
        (self.out / "queries.txt").write_text("\n".join(queries) + "\n")
        self.stats["zones"] = len(zone_names)
        self.stats["seconds to generate"] = round(time.monotonic() - started, 1)
        return self.report(specs)

    def write_conf(self, zone_names: list[str]) -> None:
        out, zones = self.out, self.out / "zones"
        conf = ["server:", "  ip-address: 127.0.0.1@5354", "  server-count: 2", '  zonelistfile: ""', '  database: ""',
                "  rrl-ratelimit: 0", "  rrl-whitelist-ratelimit: 0", "  rrl-slip: 0", "  verbosity: 0",
                f'  pidfile: "{out}/nsd.pid"', '  logfile: "/dev/null"', f'  xfrdfile: "{out}/xfrd.state"',
                "remote-control:", "  control-enable: no", "pattern:", "  name: plain", f'  zonefile: "{zones}/%s.zone"']
        conf += [f"zone:\n  name: {origin}\n  include-pattern: plain" for origin in zone_names]
        (out / "nsd.conf").write_text("\n".join(conf) + "\n")

    # -- the recorded and generated mixes, side by side --------------------------------------
    def recorded_specs(self) -> list[Spec]:
        specs = []
        for p in self.profiles:
            own = self.registrable(p.domain)
            spec = Spec(p.dataset, "yes", mx=list(p.mx),
                        mx_own=[h == p.domain or h.endswith("." + p.domain) or self.registrable(h) == own for h in p.mx],
                        spf=p.spf or None, dkim=tuple(sorted(p.dkim)), tokens=tuple(sorted(p.tokens)),
                        autodiscover="cname" if p.autodiscover_cname else ("srv" if p.autodiscover_srv else None),
                        mx_cname=any(h in p.mx_cname for h in p.mx), tenant_host=p.tenant in ("Managed", "Federated"),
                        dmarc="rua at a processor" if p.dmarc else "not recorded", tlsrpt=None)
            if p.dataset == "nordic":  # the ASNs of all MX hosts are recorded: none means no address
                spec.mx_address = {h: bool(p.mx_asns) for h in p.mx}
            else:  # only the ASNs the peer recognised are recorded
                spec.mx_address = {h: (True if h in self.host_asn else None) for h in p.mx}
            spec.mx_asn = self.host_asn.get(p.mx[0]) if p.mx else None
            spec.mx_asn_recorded = spec.mx_asn is not None
            specs.append(spec)
        return specs

    def report(self, generated: list[Spec]) -> dict:
        def recorded_lookup(name: str) -> str | None:
            return self.spf_dict.get(name)

        def generated_lookup(name: str) -> str | None:
            return self.spf_texts.get(name)

        sample = random.Random(self.seed).sample(self.check, min(2000, len(self.check)))
        hits = sum(1 for addr, asn in sample if (hit := self.ip_table.lookup(addr)) and hit.asn == asn)
        self.stats["MX addresses whose IP-to-ASN look-up gives the intended ASN (sample)"] = f"{hits}/{len(sample)}"
        recorded = recordings.measure(self.recorded_specs(), recorded_lookup, self.registrable)
        for key in NOT_RECORDED:
            recorded[key] = "not recorded"
        made = recordings.measure(generated, generated_lookup, self.registrable)
        report = {"generator": {"count": self.count, "seed": self.seed, "profiles": len(self.profiles),
                                "global provider domains": len(self.global_domains),
                                **{k: v for k, v in sorted(self.stats.items())}},
                  "recordings": self.load_stats, "recorded": recorded, "generated": made}
        (self.out / "distributions.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
        (self.out / "distributions.md").write_text(markdown(recorded, made, report["generator"]))
        return report


def _dmarc_kind(line: str, syn: str) -> str:
    if "rua=" not in line:
        return "no rua"
    return "rua in-house" if f"@{syn}" in line else "rua at a processor"


def markdown(recorded: dict, generated: dict, generator: dict) -> str:
    intro = (f"Generated {generator['count']:,} input names (seed {generator['seed']}) from "
             f"{generator['profiles']:,} recorded domains; {generator['global provider domains']} provider domains "
             "kept global, the others' names cloned per round. Shares in % of the existing domains unless "
             "said otherwise.")
    lines = ["# Realistic survey world: recorded vs generated mix", "", intro, "",
             "| measure | value | recorded | generated |", "|---|---|---:|---:|"]
    for key, value in recorded.items():
        other = generated.get(key)
        if isinstance(value, dict) or isinstance(other, dict):
            value, other = value or {}, other or {}
            for sub in list(dict.fromkeys([*value, *other])):
                lines.append(f"| {key} | {sub} | {_fmt(value.get(sub))} | {_fmt(other.get(sub))} |")
        else:
            lines.append(f"| {key} | | {_fmt(value)} | {_fmt(other)} |")
    lines += ["", "Generator notes:", ""] + [f"- {k}: {v}" for k, v in generator.items()]
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="input names to generate (bench.py's default: 200,000)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--global-share", type=float, default=0.005,
                        help="provider domains named by at least this share of the recorded domains are not cloned")
    args = parser.parse_args()
    report = Generator(args.count, args.out, args.eval_dir, args.seed, args.global_share).run()
    g = report["generator"]
    print(f"{g['zones']} zones, {args.count} input names in {args.out} ({g['seconds to generate']} s); "
          f"mix in {args.out / 'distributions.md'}")


if __name__ == "__main__":
    main()
