#!/usr/bin/env python3
"""Replay the peers' recorded DNS data through souverain, black-box, and compare the labels.

    python benchmarks/eval/replay.py --dataset ch|nordic|hu|all [--limit N] --out benchmarks/eval/results/

The souverain that runs is the one of the checkout holding this file (its ``src`` comes first on
the import path, here and in every subprocess), so the replay can be run from any worktree.

1. Reads the recordings in ../shared/eval (mxmap-ch/data.json, mxmap-nordic/data.json,
   mxmap-hu/data.json) and turns
   the recorded fields into zone files in a temporary folder: one zone per registrable domain,
   holding the municipality records (MX, apex TXT = raw SPF + reconstructed verification tokens,
   ``_dmarc`` when recorded, DKIM selector CNAMEs, autodiscover CNAME/SRV) and the provider
   records (A for MX hosts, SPF records of includes, DKIM key at the CNAME targets).
2. Serves them with ``python -m souverain.testing.dnsserver`` on 127.0.0.1 (a separate process).
3. Runs ``souverain scan ... --nameserver 127.0.0.1:PORT --functions mail --no-web-fetch
   --format json --no-store`` in batches (subprocesses: nothing is patched, nothing imported
   from the scanner except the IP-to-ASN table and the PSL used to *build* the zones).
4. Maps souverain's email.inbound / email.gateway dependencies onto the peers' labels and onto
   a common coarse label, writes per-domain results (JSONL, gzipped), agreement tables (JSON and
   Markdown), a CSV of every disagreement and the replay statistics.

Nothing leaves the machine: the only DNS server queried is the loopback one started here.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SRC = REPO / "src"
# the checkout's own package, never an installed one (here and in the subprocesses, see _env)
sys.path.insert(0, str(SRC))

from souverain.kb.ipasn import IPASNTable
from souverain.kb.psl import PublicSuffixList

# ../shared/eval beside the checkout; from a worktree nested deeper, the nearest such folder above
DEFAULT_EVAL = next((p / "shared" / "eval" for p in REPO.parents if (p / "shared" / "eval").is_dir()),
                    REPO.parent / "shared" / "eval")

# Date of each recording: ownership and laws are evaluated as of that day (souverain --at).
RECORDED_AT = {"ch": "2026-03-24", "nordic": "2026-04-23", "hu": "2026-07-15"}
DATASET_LABEL = {"ch": "Switzerland (mxmap-ch)", "nordic": "Nordics (mxmap-nordic)", "hu": "Hungary (mxmap-hu)"}

# ASNs whose address space belongs to US-controlled hyperscalers (the brief's check).
HYPERSCALER_ASNS = {
    16509: "Amazon (AWS)", 14618: "Amazon (AWS)", 8987: "Amazon (AWS)",
    8075: "Microsoft", 8068: "Microsoft", 8069: "Microsoft", 8070: "Microsoft", 8071: "Microsoft",
    15169: "Google", 396982: "Google Cloud", 19527: "Google", 36040: "Google", 43515: "Google",
    31898: "Oracle Cloud", 54253: "Oracle", 7160: "Oracle",
    36351: "IBM Cloud (SoftLayer)", 14061: "DigitalOcean", 63949: "Akamai (Linode)",
    20473: "Vultr (Constant)", 13335: "Cloudflare",
}

# Host-name families whose address space is well known: used only to tell, when a domain's
# recording lists several ASNs for several MX hosts, which ASN goes with which host.
ASN_HINTS = (
    ("mail.protection.outlook.com", {8075}), ("outlook.com", {8075}), ("outlook.de", {8075}),
    ("google.com", {15169, 396982}), ("googlemail.com", {15169, 396982}),
    ("amazonaws.com", {16509, 14618}), ("awsapps.com", {16509, 14618}),
    ("infomaniak.com", {29222}), ("infomaniak.ch", {29222}), ("ikmail.com", {29222}),
)

VERIFICATION_PREFIX = {
    "microsoft": "MS=", "google": "google-site-verification=", "apple": "apple-domain-verification=",
    "facebook": "facebook-domain-verification=", "atlassian": "atlassian-domain-verification=",
}
STUB_SPF = "v=spf1 ?all"
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
INCLUDE_RE = re.compile(r"\binclude:(\S+)", re.IGNORECASE)
REDIRECT_RE = re.compile(r"\bredirect=(\S+)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# 1. the recordings
# --------------------------------------------------------------------------------------------
@dataclass
class Record:
    dataset: str
    id: str
    name: str
    country: str
    domain: str
    mx: list[str]
    spf: str
    spf_resolved: str | None = None
    dkim: dict[str, str] = field(default_factory=dict)  # selector -> CNAME target
    autodiscover_cname: str | None = None
    autodiscover_srv: str | None = None
    txt_tokens: dict[str, str | None] = field(default_factory=dict)  # kind -> token (None: synthetic)
    amazonses_txt: bool = False  # CH: "_amazonses.<domain>" TXT recorded as present
    dmarc: str | None = None
    tenant: str | None = None
    mx_asns: list[int] = field(default_factory=list)  # Nordic: set over all MX; CH: one per MX IPv4
    peer_provider: str = ""
    peer_category: str | None = None
    peer_gateway: str | None = None
    peer_reason: str = ""
    peer_confidence: float | None = None
    isp_name: str | None = None
    smtp_banner: str | None = None
    mx_cnames: dict[str, str] = field(default_factory=dict)  # MX host -> CNAME target (Hungary)


def _host(text: str | None) -> str | None:
    if not text:
        return None
    host = text.strip().rstrip(".").lower()
    return host or None


def load_ch(path: Path, dataset: str = "ch", country: str = "CH") -> list[Record]:
    """The davidhuser/mxmap format, shared by the Swiss and the Hungarian (fork) recordings.

    Rows without a domain (the peer found none; Hungary only) are left out: there is nothing to
    scan. They are counted by ``count_domainless``.
    """
    data = json.loads(path.read_text(encoding="utf-8"))["municipalities"]
    out = []
    for key, entry in data.items():
        if not (entry.get("domain") or "").strip():
            continue
        rec = Record(dataset, key, entry["name"], country, entry["domain"].strip().lower(),
                     [h.lower() for h in entry.get("mx") or []],
                     entry.get("spf") or "", peer_provider=entry["provider"], peer_category=entry.get("category"),
                     peer_gateway=entry.get("gateway"), peer_confidence=entry.get("classification_confidence"))
        details = []
        for signal in entry.get("classification_signals") or []:
            kind, detail, provider = signal["kind"], signal["detail"], signal["provider"]
            details.append(detail)
            if kind == "dkim":
                m = re.match(r"DKIM ([^.\s]+)\._domainkey\.\S+ CNAME \u2192 (\S+)", detail)
                if m:
                    rec.dkim[m.group(1)] = m.group(2).lower()
            elif kind == "autodiscover":
                m = re.match(r"autodiscover (CNAME|SRV) \u2192 (\S+)", detail)
                if m and m.group(1) == "CNAME":
                    rec.autodiscover_cname = _host(m.group(2))
                elif m:
                    rec.autodiscover_srv = _host(m.group(2))
            elif kind == "tenant":
                rec.tenant = detail.rsplit(":", 1)[-1].strip()
            elif kind == "asn":
                m = re.match(r"ASN (\d+)", detail)
                if m:
                    rec.mx_asns.append(int(m.group(1)))
            elif kind == "txt_verification":
                if detail.startswith("AWS SES domain verification"):
                    rec.amazonses_txt = True
                elif provider == "microsoft":
                    rec.txt_tokens["microsoft"] = None
                elif provider == "google":
                    rec.txt_tokens["google"] = None
                elif provider == "aws":
                    rec.txt_tokens["amazonses"] = None
            elif kind == "cname_chain":
                # the MX host is a CNAME to the provider's host (Hungary: "CNAME chain A → B")
                m = re.match(r"CNAME chain (\S+) \u2192 (\S+)", detail)
                if m:
                    rec.mx_cnames[m.group(1).lower().rstrip(".")] = m.group(2).lower().rstrip(".")
            elif kind == "dmarc" and provider == "microsoft":
                # the peer's only DMARC pattern for Microsoft is "rua.agari.com"
                rec.dmarc = "v=DMARC1; p=none; rua=mailto:replay-synthetic@rua.agari.com"
        rec.peer_reason = "; ".join(details)
        out.append(rec)
    return out


def count_domainless(path: Path) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))["municipalities"]
    return sum(1 for entry in data.values() if not (entry.get("domain") or "").strip())


def load_nordic(path: Path) -> list[Record]:
    data = json.loads(path.read_text(encoding="utf-8"))["municipalities"]
    out = []
    for key, entry in data.items():
        auto = entry.get("autodiscover") or {}
        rec = Record("nordic", key, entry["name"], entry.get("country", ""), entry["domain"].lower(),
                     [h.lower() for h in entry.get("mx") or []], entry.get("spf") or "",
                     spf_resolved=entry.get("spf_resolved"),
                     dkim={k: v.lower() for k, v in (entry.get("dkim") or {}).items() if v},
                     autodiscover_cname=_host(auto.get("autodiscover_cname")),
                     autodiscover_srv=_host(auto.get("autodiscover_srv")),
                     txt_tokens=dict(entry.get("txt_verifications") or {}),
                     tenant=entry.get("tenant"), mx_asns=list(entry.get("mx_asns") or []),
                     peer_provider=entry["provider"], peer_gateway=entry.get("gateway"),
                     peer_reason=entry.get("reason", ""), isp_name=entry.get("isp_name"),
                     smtp_banner=entry.get("smtp_banner"))
        out.append(rec)
    return out


def dedupe(records: list[Record]) -> tuple[list[Record], int]:
    seen: dict[tuple[str, str], Record] = {}
    for rec in records:
        seen.setdefault((rec.dataset, rec.domain), rec)
    return list(seen.values()), len(records) - len(seen)


# --------------------------------------------------------------------------------------------
# 2. SPF: rebuilding included records from the peers' flattened ``spf_resolved``
# --------------------------------------------------------------------------------------------
def spf_names(text: str) -> list[str]:
    return INCLUDE_RE.findall(text) + REDIRECT_RE.findall(text)


def split_spf(flat: str) -> list[str]:
    return [p.strip() for p in re.split(r"\s+(?=v=spf1(?:\s|$))", flat.strip(), flags=re.IGNORECASE) if p.strip()]


def align_spf(parts: list[str], known: dict[str, str] | None) -> tuple[dict[str, str], list[str], bool]:
    """Replay the peer's breadth-first walk (<= 10 look-ups, visited set) over the flattened parts.

    Returns (include -> text, includes inferred void, consistent). Without ``known`` every
    look-up consumes the next part; with it, a look-up whose known text differs from the next
    part is taken as void (the include had no SPF record when the peer looked).
    """
    queue = list(spf_names(parts[0]))
    visited: set[str] = set()
    lookups, index = 0, 1
    found: dict[str, str] = {}
    void: list[str] = []
    while queue and lookups < 10:
        name = queue.pop(0).lower().rstrip(".")
        if name in visited:
            continue
        visited.add(name)
        lookups += 1
        if index >= len(parts):
            void.append(name)
            continue
        if known is not None and name in known and known[name] != parts[index]:
            void.append(name)
            continue
        found[name] = parts[index]
        queue.extend(spf_names(parts[index]))
        index += 1
    return found, void, index == len(parts) and not void


def build_spf_dictionary(records: list[Record]) -> tuple[dict[str, str], dict]:
    """include domain -> SPF text, by majority over every recording that shows it."""
    exact: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    pending: list[list[str]] = []
    stats = collections.Counter()
    for rec in records:
        if not rec.spf_resolved:
            continue
        parts = split_spf(rec.spf_resolved)
        if len(parts) <= 1:
            stats["flat_no_includes"] += 1
            continue
        found, _, consistent = align_spf(parts, None)
        if consistent:
            stats["flat_aligned_exactly"] += 1
            for name, text in found.items():
                exact[name][text] += 1
        else:
            pending.append(parts)
    known = {name: counts.most_common(1)[0][0] for name, counts in exact.items()}
    repaired: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for parts in pending:
        found, void, consistent = align_spf(parts, known)
        stats["flat_repaired_with_votes" if consistent or len(found) else "flat_unusable"] += 1
        for name, text in found.items():
            if name not in known:
                repaired[name][text] += 1
    for name, counts in repaired.items():
        known[name] = counts.most_common(1)[0][0]
    stats["includes_from_exact_alignment"] = len(exact)
    stats["includes_from_repaired_alignment"] = len(repaired)
    stats["includes_with_conflicting_texts"] = sum(1 for c in exact.values() if len(c) > 1)
    return known, dict(stats)


# --------------------------------------------------------------------------------------------
# 3. the zone world
# --------------------------------------------------------------------------------------------
class World:
    def __init__(self, ip_table: IPASNTable, psl: PublicSuffixList) -> None:
        self.ip_table = ip_table
        self.psl = psl
        self.names: dict[str, dict[str, set[str]]] = collections.defaultdict(lambda: collections.defaultdict(set))
        self.stats = collections.Counter()
        self.skipped: collections.Counter = collections.Counter()
        self._prefix_cache: dict[int, list[tuple[int, int]]] = {}
        self.origins: set[str] = set()

    def add(self, name: str, rdtype: str, value: str) -> bool:
        name = name.lower().rstrip(".")
        if not HOST_RE.match(name) or name.rsplit(".", 1)[-1].isdigit():
            self.skipped[name] += 1
            return False
        self.names[name][rdtype].add(value)
        return True

    def stand_in(self, host: str, asn: int) -> str | None:
        """A deterministic IPv4 address inside a prefix announced by ``asn`` (None if none)."""
        if asn not in self._prefix_cache:
            ranges = []
            for lo, hi in self.ip_table.prefixes_of(asn, 4):
                a, b = int(ipaddress.IPv4Address(lo)), int(ipaddress.IPv4Address(hi))
                if b - a >= 3:
                    ranges.append((a, b))
            ranges.sort(key=lambda r: (r[0] - r[1], r[0]))  # largest first
            self._prefix_cache[asn] = ranges[:16]
        ranges = self._prefix_cache[asn]
        if not ranges:
            return None
        digest = int(hashlib.sha256(host.encode()).hexdigest(), 16)
        lo, hi = ranges[digest % len(ranges)]
        address = str(ipaddress.IPv4Address(lo + 1 + (digest >> 8) % (hi - lo - 1)))
        hit = self.ip_table.lookup(address)
        return address if hit and hit.asn == asn else None

    def zone_of(self, name: str) -> str:
        try:
            reg = self.psl.registrable_domain(name, private=False)
        except ValueError:
            reg = None
        return reg or name

    def write(self, folder: Path) -> int:
        zones: dict[str, list[str]] = collections.defaultdict(list)
        for origin in self.origins:
            zones[origin]
        for name in sorted(self.names):
            rrsets = self.names[name]
            if "CNAME" in rrsets and len(rrsets) > 1:
                self.stats["cname_conflicts_dropped"] += 1
                del rrsets["CNAME"]
            if "CNAME" in rrsets and len(rrsets["CNAME"]) > 1:
                keep = sorted(rrsets["CNAME"])[0]
                rrsets["CNAME"] = {keep}
                self.stats["multi_cname_reduced"] += 1
            for rdtype in sorted(rrsets):
                for value in sorted(rrsets[rdtype]):
                    rdata = _txt(value) if rdtype == "TXT" else value
                    zones[self.zone_of(name)].append(f"{name}. 300 IN {rdtype} {rdata}")
        folder.mkdir(parents=True, exist_ok=True)
        for origin, lines in zones.items():
            head = [f"$ORIGIN {origin}.", "$TTL 300",
                    "@ IN SOA ns.replay.invalid. hostmaster.replay.invalid. 2026010101 3600 600 86400 300",
                    "@ IN NS ns.replay.invalid."]
            (folder / f"{origin}.zone").write_text("\n".join(head + lines) + "\n", encoding="utf-8")
        return len(zones)


def _txt(value: str) -> str:
    raw = value.encode("utf-8")
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    out = []
    for chunk in chunks:
        text = "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in chunk)
        out.append(f'"{text}"')
    return " ".join(out)


def assign_mx_asns(records: list[Record]) -> tuple[dict[str, int], collections.Counter]:
    """host -> ASN, by votes over every recording naming the host (see the report for the rule)."""
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    stats = collections.Counter()
    for rec in records:
        hosts = [h for h in dict.fromkeys(rec.mx) if h]
        asns = list(dict.fromkeys(rec.mx_asns))
        if not hosts or not asns:
            continue
        claimed: set[int] = set()
        free_hosts = []
        for host in hosts:
            hinted = next((set(a) & set(asns) for suffix, a in ASN_HINTS
                           if host == suffix or host.endswith("." + suffix)), set())
            if hinted:
                asn = min(hinted)
                votes[host][asn] += 2
                claimed.add(asn)
            else:
                free_hosts.append(host)
        rest = [a for a in asns if a not in claimed]
        if free_hosts and not rest:
            # every recorded ASN is explained by a host of a known family: the others stay unknown
            stats["hosts_not_assigned_all_asns_claimed"] += len(free_hosts)
            continue
        for host in free_hosts:
            if len(rest) == 1:
                votes[host][rest[0]] += 2
            else:
                stats["ambiguous_host_asn_votes"] += 1
                for asn in rest:
                    votes[host][asn] += 1
    chosen = {}
    for host, counter in votes.items():
        top = counter.most_common()
        if len(top) > 1 and top[0][1] == top[1][1]:
            stats["hosts_with_tied_asn"] += 1
        chosen[host] = min(a for a, c in top if c == top[0][1])
    return chosen, stats


def build_world(records: list[Record], ip_table: IPASNTable, spf_dict: dict[str, str],
                eop_from_tenant: bool) -> tuple[World, dict, dict[str, dict]]:
    world = World(ip_table, PublicSuffixList.bundled())
    host_asn, asn_stats = assign_mx_asns(records)
    replay_notes: dict[str, dict] = {}
    includes_needed: set[str] = set()
    mx_hosts: set[str] = set()
    dkim_targets: set[str] = set()
    for rec in records:
        d = rec.domain
        notes: dict = {}
        world.origins.add(world.zone_of(d))  # the zone exists even when nothing was recorded (no MX)
        # MX (the recordings keep no preferences: every host gets preference 10, all primaries)
        for host in dict.fromkeys(rec.mx):
            if world.add(d, "MX", f"10 {host}."):
                mx_hosts.add(host)
            else:
                notes.setdefault("mx_skipped", []).append(host)
        # apex TXT: the raw SPF and the verification tokens
        if rec.spf:
            world.add(d, "TXT", rec.spf)
            includes_needed.update(n.lower().rstrip(".") for n in spf_names(rec.spf))
        for kind, token in rec.txt_tokens.items():
            if kind == "amazonses":
                world.add(d, "TXT", "amazonses:replay-synthetic-token")
                continue
            prefix = VERIFICATION_PREFIX.get(kind)
            if prefix is None:
                continue
            if token is None:
                token = "ms00000000" if kind == "microsoft" else "replay-synthetic-token"
                notes.setdefault("synthetic_tokens", []).append(kind)
            world.add(d, "TXT", prefix + token)
        if rec.amazonses_txt:
            world.add(f"_amazonses.{d}", "TXT", "replay-synthetic-token")
        if rec.dmarc:
            world.add(f"_dmarc.{d}", "TXT", rec.dmarc)
        for selector, target in rec.dkim.items():
            if world.add(f"{selector}._domainkey.{d}", "CNAME", f"{target}."):
                dkim_targets.add(target)
        if rec.autodiscover_cname:
            world.add(f"autodiscover.{d}", "CNAME", f"{rec.autodiscover_cname}.")
        if rec.autodiscover_srv:
            world.add(f"_autodiscover._tcp.{d}", "SRV", f"0 0 443 {rec.autodiscover_srv}.")
        if eop_from_tenant and rec.tenant in ("Managed", "Federated"):
            eop = d.replace(".", "-") + ".mail.protection.outlook.com"
            address = world.stand_in(eop, 8075)
            if address:
                world.add(eop, "A", address)
                notes["eop_from_tenant"] = True
        replay_notes[d] = notes

    # MX hosts: a stand-in address inside the recorded ASN, else no address (counted)
    host_address: dict[str, str | None] = {}
    mx_cname = {h: t for rec in records for h, t in rec.mx_cnames.items() if h in mx_hosts}
    for host in sorted(mx_hosts):
        asn = host_asn.get(host)
        target = mx_cname.get(host)
        if target and world.add(host, "CNAME", f"{target}."):
            world.stats["mx_hosts_cname"] += 1
            host_target = target  # the recorded address (ASN) is the CNAME target's
        else:
            host_target = host
        address = world.stand_in(host_target, asn) if asn else None
        host_address[host] = address
        if address:
            world.add(host_target, "A", address)
            world.stats["mx_hosts_with_stand_in_address"] += 1
        else:
            world.add(host_target, "HINFO", '"replay" "no-address-recorded"')
            world.stats["mx_hosts_without_address" if not asn else "mx_hosts_asn_without_prefix"] += 1
    # SPF of includes, transitively, from the dictionary; a stub where the content is unknown
    seen: set[str] = set()
    queue = sorted(includes_needed)
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        text = spf_dict.get(name)
        if text is None:
            world.stats["spf_includes_stubbed"] += 1
            text = STUB_SPF
        else:
            world.stats["spf_includes_reconstructed"] += 1
            queue.extend(n.lower().rstrip(".") for n in spf_names(text))
        world.add(name, "TXT", text)
    for target in dkim_targets:
        world.add(target, "TXT", "v=DKIM1; k=rsa; p=replay-synthetic-key")
    world.stats.update(asn_stats)
    world.stats["mx_hosts"] = len(mx_hosts)
    for rec in records:
        replay_notes[rec.domain]["mx_addresses"] = {h: host_address.get(h) for h in dict.fromkeys(rec.mx)}
        replay_notes[rec.domain]["mx_asn_used"] = {h: host_asn.get(h) for h in dict.fromkeys(rec.mx)}
    return world, dict(world.stats), replay_notes


# --------------------------------------------------------------------------------------------
# 4. serving and scanning
# --------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        return udp.getsockname()[1]


def _env() -> dict[str, str]:
    """The subprocesses import the checkout's souverain (its src first on PYTHONPATH)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    return env


def start_server(zone_dir: Path) -> tuple[subprocess.Popen, int]:
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "souverain.testing.dnsserver", str(zone_dir), "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
        line = proc.stdout.readline()
        if line.startswith("serving"):
            print(f"  {line.strip()}", flush=True)
            return proc, port
        proc.kill()
    raise RuntimeError("the loopback DNS server did not start")


def run_scans(domains: list[str], port: int, at: str, batch: int, scan_dir: Path, timeout: float) -> dict:
    results: dict[str, dict] = {}
    for start in range(0, len(domains), batch):
        chunk = domains[start:start + batch]
        out = scan_dir / f"scan-{at}-{start:05d}.json"
        cmd = [sys.executable, "-m", "souverain", "scan", *chunk, "--nameserver", f"127.0.0.1:{port}", "--functions", "mail",
               "--no-web-fetch", "--format", "json", "--no-store", "--quiet", "--at", at,
               "--timeout", str(timeout), "-o", str(out)]
        clock = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
        if proc.returncode not in (0, 3):
            raise RuntimeError(f"souverain scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
        data = json.loads(out.read_text(encoding="utf-8"))
        by_domain: dict[str, dict] = {d: {"deps": [], "failures": []} for d in chunk}
        for dep in data["dependencies"]:
            by_domain.setdefault(dep["domain"], {"deps": [], "failures": []})["deps"].append(dep)
        for domain, items in (data.get("failures") or {}).items():
            by_domain.setdefault(domain, {"deps": [], "failures": []})["failures"] = items
        results.update(by_domain)
        print(f"  scanned {start + len(chunk)}/{len(domains)} ({time.perf_counter() - clock:.1f} s,"
              f" {data['scan']['dns_stats'].get('queries', '?')} queries)", flush=True)
    return results


# --------------------------------------------------------------------------------------------
# 5. labels
# --------------------------------------------------------------------------------------------
COARSE = ("us-cloud", "eu/domestic provider", "self-managed", "unknown")
PEER_COARSE = {
    "microsoft": "us-cloud", "google": "us-cloud", "aws": "us-cloud",
    "infomaniak": "eu/domestic provider", "local-isp": "eu/domestic provider",
    "independent": "self-managed", "unknown": "unknown",
}
NAMED = {"exchange-online": "microsoft", "google-workspace-mail": "google", "amazon-workmail": "aws",
         "infomaniak-mail": "infomaniak"}


def _country(dep: dict) -> str | None:
    return (dep.get("controller") or {}).get("country")


def _us_reachable(dep: dict) -> bool:
    """US-controlled operator, or a US-controlled network under it (the dependency's infrastructure)."""
    infrastructure = (dep.get("infrastructure") or {}).get("controller") or {}
    return _country(dep) == "US" or infrastructure.get("country") == "US"


# roles (issue #9 rule 3b) of an operator that carries the mail without holding the mailbox
NOT_MAILBOX_ROLES = ("transit", "colocation")


def our_labels(rec: Record, deps: list[dict]) -> dict:
    # a proxy, CDN or colocation operator announcing the MX address is not the mailbox holder
    inbound = [d for d in deps if d["function"] == "email.inbound" and d.get("role") not in NOT_MAILBOX_ROLES]
    carriers = [d for d in deps if d["function"] == "email.inbound" and d.get("role") in NOT_MAILBOX_ROLES]
    gateways = [d for d in deps if d["function"] == "email.gateway"]
    us = [d for d in inbound if d["status"] in ("identified", "self-managed") and _us_reachable(d)]
    identified = [d for d in inbound if d["status"] == "identified"]
    managed = [d for d in inbound if d["status"] == "self-managed"]
    if us:
        coarse = "us-cloud"
    elif identified:
        coarse = "eu/domestic provider"
    elif managed:
        coarse = "self-managed"
    else:
        coarse = "unknown"
    # the same answer in the peer's vocabulary
    services = [(d.get("service") or {}).get("id") for d in identified]
    named = [NAMED[s] for s in services if s in NAMED]
    operators = {(d.get("operator") or {}).get("id") for d in identified}
    if "microsoft" in named:
        peer_vocab = "microsoft"
    elif "google" in named:
        peer_vocab = "google"
    elif "aws" in named or "aws" in operators:
        peer_vocab = "aws"
    elif named:
        peer_vocab = named[0] if rec.dataset != "hu" else "other-provider"
    elif identified and rec.dataset == "hu":
        peer_vocab = "other-provider"
    elif identified or managed:
        if rec.dataset in ("ch", "hu"):
            peer_vocab = "independent"
        else:
            peer_vocab = "independent" if us else "local-isp"
    elif any(d["reason"] == "mx-unrecognised" for d in inbound):
        peer_vocab = "independent"
    else:
        peer_vocab = "unknown"
    main = (us or identified or managed or inbound or [None])[0]
    # confidence tier of the answer (issue #9); scans made before the field existed give none
    tier_field = main is not None and "tier" in main
    if coarse == "unknown":
        tier = "unknown"
    elif tier_field:
        tier = main["tier"]
    else:
        tier = "verified"
    detail = "-"
    if main is not None:
        svc = (main.get("service") or {}).get("name") or ""
        ctrl = main.get("controller") or {}
        detail = f"{main['status']}:{main['reason']}"
        if svc:
            detail += f" {svc}"
        if ctrl:
            detail += f" [{ctrl.get('name')}, {ctrl.get('country')}]"
        params = main.get("reason_params") or {}
        if params.get("candidates"):
            detail += f" candidates={params['candidates']}"
    return {
        "coarse": coarse,
        "peer_vocab": peer_vocab,
        "tier": tier,
        "tier_from_field": bool(tier_field),
        "detail": detail,
        "inbound": [{"status": d["status"], "reason": d["reason"], "service": (d.get("service") or {}).get("id"),
                     "operator": (d.get("operator") or {}).get("id"), "controller": (d.get("controller") or {}).get("name"),
                     "country": _country(d), "subject": d.get("subject"), "confidence": d["confidence"],
                     "tier": d.get("tier"),
                     "params": {k: v for k, v in (d.get("reason_params") or {}).items() if k != "host"}}
                    for d in inbound],
        "gateway": [{"service": (d.get("service") or {}).get("id"), "controller": (d.get("controller") or {}).get("name"),
                     "country": _country(d)} for d in gateways],
        "carriers": [{"role": d.get("role"), "service": (d.get("service") or {}).get("id"),
                      "controller": (d.get("controller") or {}).get("name"), "country": _country(d)} for d in carriers],
    }


HU_PEER_VOCAB = ("microsoft", "google", "aws", "independent")


def peer_labels(rec: Record) -> dict:
    provider = rec.peer_provider
    if rec.dataset == "hu":
        # the Hungarian peer names ~45 hosting providers: collapsed to "other-provider"
        if provider in ("unknown", "unresolved"):
            coarse, vocab = "unknown", "unknown"
        else:
            vocab = provider if provider in HU_PEER_VOCAB else "other-provider"
            coarse = PEER_COARSE.get(vocab, "eu/domestic provider")
        return {"provider": vocab, "provider_raw": provider, "coarse": coarse,
                "us": rec.peer_category == "us-cloud", "answers": coarse != "unknown"}
    coarse = PEER_COARSE.get(provider, "unknown")
    if rec.dataset == "ch":
        us = rec.peer_category == "us-cloud"
    else:
        us = provider in ("microsoft", "google", "aws")
    return {"provider": provider, "provider_raw": provider, "coarse": coarse, "us": us, "answers": coarse != "unknown"}


def confusion(pairs: list[tuple[str, str]], labels: list[str]) -> dict:
    matrix = {ours: {theirs: 0 for theirs in labels} for ours in labels}
    for ours, theirs in pairs:
        matrix.setdefault(ours, {t: 0 for t in labels})
        matrix[ours].setdefault(theirs, 0)
        matrix[ours][theirs] += 1
    all_labels = list(dict.fromkeys(labels + [k for k in matrix] + [t for row in matrix.values() for t in row]))
    for row in matrix.values():
        for t in all_labels:
            row.setdefault(t, 0)
    for label in all_labels:
        matrix.setdefault(label, {t: 0 for t in all_labels})
    per_label = {}
    for label in all_labels:
        tp = matrix[label][label]
        ours_n = sum(matrix[label].values())
        theirs_n = sum(matrix[o][label] for o in matrix)
        per_label[label] = {"ours": ours_n, "theirs": theirs_n, "both": tp,
                            "precision": round(tp / ours_n, 3) if ours_n else None,
                            "recall": round(tp / theirs_n, 3) if theirs_n else None}
    agree = sum(1 for o, t in pairs if o == t)
    return {"labels": all_labels, "matrix": matrix, "per_label": per_label, "n": len(pairs),
            "agreement": round(agree / len(pairs), 4) if pairs else None, "agree": agree}


def md_table(title: str, table: dict) -> str:
    labels = [l for l in table["labels"] if sum(table["matrix"][l].values()) or
              sum(table["matrix"][o][l] for o in table["matrix"])]
    lines = [f"**{title}** — n = {table['n']}, agreement {table['agree']}/{table['n']} = "
             f"{100 * (table['agreement'] or 0):.1f} %", "",
             "| ours \\ peer | " + " | ".join(labels) + " | total |",
             "|---|" + "---:|" * (len(labels) + 1)]
    for ours in labels:
        row = table["matrix"][ours]
        lines.append(f"| {ours} | " + " | ".join(str(row.get(t, 0)) for t in labels) + f" | {sum(row.values())} |")
    lines.append("| total | " + " | ".join(str(sum(table["matrix"][o].get(t, 0) for o in table["matrix"])) for t in labels)
                 + f" | {table['n']} |")
    lines += ["", "| label | ours | peer | both | precision (ours vs peer) | recall |", "|---|---:|---:|---:|---:|---:|"]
    for label in labels:
        p = table["per_label"][label]
        fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {label} | {p['ours']} | {p['theirs']} | {p['both']} | {fmt(p['precision'])} | {fmt(p['recall'])} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# 6. coverage against issue #9's targets
# --------------------------------------------------------------------------------------------
TIERS = ("verified", "registered", "inferred", "unknown")
TARGET_UNKNOWN_SHARE = 0.10  # of the mail-receiving domains, the no-data ones excluded
TARGET_US_AGREEMENT = 0.97  # where both souverain and the peer answer


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def mx_domain(psl: PublicSuffixList, host: str) -> str:
    if _is_ip(host):
        return host
    try:
        return psl.registrable_domain(host, private=False) or host
    except ValueError:
        return host


def shared_mx_domains(rows: list[dict], psl: PublicSuffixList) -> set[str]:
    """MX registrable domains that serve two or more municipal domains of one dataset (a provider's)."""
    users: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for r in rows:
        own = mx_domain(psl, r["domain"])
        for host in r["mx"]:
            reg = mx_domain(psl, host)
            if reg != own and not _is_ip(host):
                users[(r["dataset"], reg)].add(r["domain"])
    return {f"{ds}:{reg}" for (ds, reg), doms in users.items() if len(doms) >= 2}


def no_data(r: dict, shared: set[str], psl: PublicSuffixList) -> bool:
    """The recording holds no address for any MX host and no MX name under a provider's domain.

    An address is a stand-in inside a recorded ASN or an MX given as an IP literal; a provider's
    domain is one that two or more municipal domains of the dataset use for MX (shared_mx_domains),
    which does not depend on what souverain's KB knows.
    """
    if any(r["mx_addresses"].get(h) for h in r["mx"]) or any(_is_ip(h) for h in r["mx"]):
        return False
    return not any(f"{r['dataset']}:{mx_domain(psl, h)}" in shared for h in r["mx"])


def coverage(subset: list[dict]) -> dict:
    mail = [r for r in subset if r["mx"]]
    unknown = [r for r in mail if r["ours"]["coarse"] == "unknown"]
    excluded = [r for r in unknown if r["no_data"]]
    target_n = len(mail) - len(excluded)
    target_unknown = len(unknown) - len(excluded)
    both = [r for r in mail if r["ours"]["coarse"] != "unknown" and r["peer"]["answers"]]
    agree_both = sum(1 for r in both if (r["ours"]["coarse"] == "us-cloud") == r["peer"]["us"])

    def three(label_us: bool, answers: bool) -> str:
        return ("US" if label_us else "not US") if answers else "unknown"
    agree_all = sum(1 for r in mail if three(r["ours"]["coarse"] == "us-cloud", r["ours"]["coarse"] != "unknown")
                    == three(r["peer"]["us"], r["peer"]["answers"]))
    tiers = collections.Counter(r["ours"]["tier"] for r in mail)
    from_field = sum(1 for r in mail if r["ours"]["tier_from_field"] and r["ours"]["coarse"] != "unknown")
    answered = len(mail) - len(unknown)

    def share(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None
    return {
        "domains": len(subset), "mail_receiving": len(mail), "no_mx": len(subset) - len(mail),
        "unknown": len(unknown), "unknown_share": share(len(unknown), len(mail)),
        "no_data_excluded": len(excluded), "no_data_all": sum(1 for r in mail if r["no_data"]),
        "target_domains": target_n, "target_unknown": target_unknown,
        "unknown_share_target": share(target_unknown, target_n),
        "unknown_target_met": target_n > 0 and target_unknown / target_n <= TARGET_UNKNOWN_SHARE,
        "peer_answers": sum(1 for r in mail if r["peer"]["answers"]),
        "both_answer": len(both), "us_agree_both": agree_both, "us_agreement_both": share(agree_both, len(both)),
        "us_target_met": bool(both) and agree_both / len(both) >= TARGET_US_AGREEMENT,
        "us_agree_counting_unknowns": agree_all, "us_agreement_counting_unknowns": share(agree_all, len(mail)),
        "tiers": {t: tiers.get(t, 0) for t in TIERS} | {t: n for t, n in tiers.items() if t not in TIERS},
        "tier_shares": {t: share(n, len(mail)) for t, n in tiers.items()},
        "tier_from_field": from_field, "tier_fallback": answered - from_field,
    }


def md_coverage(cov: dict[str, dict]) -> list[str]:
    names = list(cov)

    def pct(a: int, b: int) -> str:
        return f"{a:,}/{b:,} = {100 * a / b:.1f} %" if b else "–"
    rows = [
        ("domains replayed", lambda c: f"{c['domains']:,}"),
        ("mail-receiving (at least one MX recorded)", lambda c: f"{c['mail_receiving']:,}"),
        ("souverain `unknown`, of the mail-receiving", lambda c: pct(c["unknown"], c["mail_receiving"])),
        ("... of which no data (no MX address, no MX under a provider's domain): excluded",
         lambda c: f"{c['no_data_excluded']:,}"),
        (f"**unknown share, no-data excluded** (target ≤ {TARGET_UNKNOWN_SHARE:.0%})",
         lambda c: pct(c["target_unknown"], c["target_domains"]) + (" ✓" if c["unknown_target_met"] else " ✗")),
        ("peer answers (not `unknown`)", lambda c: f"{c['peer_answers']:,}"),
        (f"**\"US law reaches the inbound mail\", where both answer** (target ≥ {TARGET_US_AGREEMENT})",
         lambda c: pct(c["us_agree_both"], c["both_answer"]) + (" ✓" if c["us_target_met"] else " ✗")),
        ("same, counting unknowns (US / not US / unknown must match), of the mail-receiving",
         lambda c: pct(c["us_agree_counting_unknowns"], c["mail_receiving"])),
    ]
    for tier in TIERS:
        rows.append((f"tier `{tier}`", lambda c, t=tier: pct(c["tiers"].get(t, 0), c["mail_receiving"])))
    rows.append(("answers whose tier is read from the scan's `tier` field / fallback `verified`",
                 lambda c: f"{c['tier_from_field']:,} / {c['tier_fallback']:,}"))
    out = ["| | " + " | ".join(DATASET_LABEL[n] for n in names) + " |", "|---|" + "---:|" * len(names)]
    out += [f"| {label} | " + " | ".join(fn(cov[n]) for n in names) + " |" for label, fn in rows]
    note = ("Tier of a domain: the `tier` of the dependency that gives its coarse label. When the scan JSON has "
            "no `tier` field (code before issue #9's tiers), an answered domain counts as `verified` and an "
            "`unknown` one as `unknown` (the last row says how many answers used this fallback).")
    return [*out, "", note, ""]


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def _commit() -> str:
    proc = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "src"],
                           capture_output=True, text=True).stdout.strip()
    return (proc.stdout.strip() or "?") + (" + uncommitted changes in src" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("ch", "nordic", "hu", "all"), default="all")
    parser.add_argument("--limit", type=int, default=None, help="first N domains of each dataset")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--batch", type=int, default=400, help="domains per souverain scan process")
    parser.add_argument("--timeout", type=float, default=2.0, help="souverain --timeout (loopback)")
    parser.add_argument("--eop-from-tenant", action="store_true",
                        help="serve <domain-dashed>.mail.protection.outlook.com where a tenant was recorded")
    parser.add_argument("--keep", type=Path, default=None, help="keep zones and raw scan JSON in this folder")
    args = parser.parse_args()

    clock = time.perf_counter()
    datasets = ["ch", "nordic", "hu"] if args.dataset == "all" else [args.dataset]
    all_records: dict[str, list[Record]] = {}
    stats: dict = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   "souverain_src": str(SRC)}
    if "ch" in datasets:
        all_records["ch"] = load_ch(args.eval_dir / "mxmap-ch" / "data.json")
    # the Nordic flattened SPF feeds the include dictionary for every dataset
    nordic = load_nordic(args.eval_dir / "mxmap-nordic" / "data.json")
    if "nordic" in datasets:
        all_records["nordic"] = nordic
    if "hu" in datasets:
        hu_path = args.eval_dir / "mxmap-hu" / "data.json"
        all_records["hu"] = load_ch(hu_path, "hu", "HU")
        stats["hu_rows_without_domain"] = count_domainless(hu_path)
    for name in list(all_records):
        recs, dups = dedupe(all_records[name])
        stats[f"{name}_rows"] = len(all_records[name])
        stats[f"{name}_duplicate_domains"] = dups
        all_records[name] = recs[: args.limit] if args.limit else recs
    spf_dict, spf_stats = build_spf_dictionary(nordic)
    stats["spf"] = spf_stats
    records = [r for recs in all_records.values() for r in recs]
    print(f"{len(records)} domains; building zones", flush=True)
    ip_table = IPASNTable.load()
    world, world_stats, notes = build_world(records, ip_table, spf_dict, args.eop_from_tenant)
    stats["world"] = world_stats
    stats["names_skipped_invalid"] = sorted(world.skipped)

    work = Path(tempfile.mkdtemp(prefix="souverain-replay-"))
    zone_dir = args.keep / "zones" if args.keep else work / "zones"
    scan_dir = args.keep / "scans" if args.keep else work / "scans"
    scan_dir.mkdir(parents=True, exist_ok=True)
    stats["zones"] = world.write(zone_dir)
    print(f"  {stats['zones']} zone files in {zone_dir}", flush=True)
    proc, port = start_server(zone_dir)
    scans: dict[str, dict] = {}
    try:
        for name, recs in all_records.items():
            scan_clock = time.perf_counter()
            scans.update(run_scans([r.domain for r in recs], port, RECORDED_AT[name], args.batch, scan_dir, args.timeout))
            stats[f"{name}_scan_seconds"] = round(time.perf_counter() - scan_clock, 1)
    finally:
        proc.terminate()
        proc.wait(10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for rec in records:
        result = scans.get(rec.domain, {"deps": [], "failures": []})
        ours = our_labels(rec, result["deps"])
        theirs = peer_labels(rec)
        n = notes.get(rec.domain, {})
        hyperscaler = sorted({HYPERSCALER_ASNS[a] for h, a in (n.get("mx_asn_used") or {}).items()
                              if a in HYPERSCALER_ASNS})
        rows.append({
            "dataset": rec.dataset, "id": rec.id, "name": rec.name, "country": rec.country, "domain": rec.domain,
            "mx": rec.mx, "mx_asn_used": n.get("mx_asn_used"), "mx_addresses": n.get("mx_addresses"),
            "recorded_mx_asns": rec.mx_asns, "spf": rec.spf, "dkim": rec.dkim,
            "autodiscover": rec.autodiscover_cname or rec.autodiscover_srv, "tenant": rec.tenant,
            "txt_tokens": sorted(rec.txt_tokens), "hyperscaler_mx": hyperscaler,
            "peer": {**theirs, "category": rec.peer_category, "gateway": rec.peer_gateway, "reason": rec.peer_reason,
                     "isp_name": rec.isp_name, "smtp_banner": rec.smtp_banner},
            "ours": ours, "failures": result["failures"], "replay_notes": {k: v for k, v in n.items()
                                                                          if k not in ("mx_addresses", "mx_asn_used")},
        })
    psl = PublicSuffixList.bundled()
    shared = shared_mx_domains(rows, psl)
    for row in rows:
        row["mx_addresses"] = row["mx_addresses"] or {}
        row["no_data"] = no_data(row, shared, psl)
    with gzip.open(out / "domains.jsonl.gz", "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")

    tables: dict = {"coverage": {name: coverage([r for r in rows if r["dataset"] == name]) for name in all_records}}
    md = [f"# Agreement tables (generated by replay.py, {dt.date.today().isoformat()})\n",
          f"Run of {stats['started']} on the souverain of `{SRC}` (commit {_commit()}).\n",
          "## Coverage against issue #9's targets\n", *md_coverage(tables["coverage"])]
    for name in all_records:
        subset = [r for r in rows if r["dataset"] == name]
        peer_vocab_labels = {"ch": ["microsoft", "google", "aws", "infomaniak", "independent", "unknown"],
                             "nordic": ["microsoft", "google", "aws", "local-isp", "independent", "unknown"],
                             "hu": ["microsoft", "google", "aws", "other-provider", "independent", "unknown"]}[name]
        t_provider = confusion([(r["ours"]["peer_vocab"], r["peer"]["provider"]) for r in subset], peer_vocab_labels)
        t_coarse = confusion([(r["ours"]["coarse"], r["peer"]["coarse"]) for r in subset], list(COARSE))
        t_us = confusion([("US-controlled" if r["ours"]["coarse"] == "us-cloud" else "not US / unknown",
                           "US-controlled" if r["peer"]["us"] else "not US / unknown") for r in subset],
                         ["US-controlled", "not US / unknown"])
        known = [r for r in subset if r["ours"]["coarse"] != "unknown"]
        t_us_known = confusion([("US-controlled" if r["ours"]["coarse"] == "us-cloud" else "not US",
                                 "US-controlled" if r["peer"]["us"] else "not US") for r in known],
                               ["US-controlled", "not US"])
        tables[name] = {"provider": t_provider, "coarse": t_coarse, "us": t_us, "us_where_we_decide": t_us_known}
        label = DATASET_LABEL[name]
        md += [f"## {label}\n",
               md_table("Provider, in the peer's vocabulary", t_provider),
               md_table("Coarse label", t_coarse),
               md_table("Inbound mail US-controlled (binary)", t_us),
               md_table("Inbound mail US-controlled, only where souverain decides (not unknown)", t_us_known)]
        # hyperscaler check
        hyp = [r for r in subset if r["hyperscaler_mx"]]
        by = collections.Counter((", ".join(r["hyperscaler_mx"]), r["ours"]["coarse"], r["ours"]["detail"].split(" [")[0])
                                 for r in hyp)
        tables[name]["hyperscaler_mx"] = {"domains": len(hyp),
                                          "labelled_self_managed_or_domestic": sum(
                                              1 for r in hyp if r["ours"]["coarse"] in ("self-managed", "eu/domestic provider")),
                                          "breakdown": [{"network": k[0], "coarse": k[1], "detail": k[2], "n": v}
                                                        for k, v in by.most_common()]}
        md += [f"**MX on hyperscaler address space**: {len(hyp)} domains; labelled self-managed or "
               f"eu/domestic: {tables[name]['hyperscaler_mx']['labelled_self_managed_or_domestic']}\n",
               "| MX network | our coarse label | our inbound result | domains |", "|---|---|---|---:|"]
        md += [f"| {k[0]} | {k[1]} | {k[2]} | {v} |" for k, v in by.most_common()]
        md.append("")
        # reasons of our unknowns
        reasons = collections.Counter(r["ours"]["detail"].split(" ")[0] for r in subset if r["ours"]["coarse"] == "unknown")
        tables[name]["unknown_reasons"] = dict(reasons.most_common())
        md += ["**Why souverain says unknown**\n", "| status:reason | domains |", "|---|---:|"]
        md += [f"| {k} | {v} |" for k, v in reasons.most_common()]
        md.append("")
    # KB gaps: MX registrable domains and ASNs behind our unknowns, and gateways the peers name
    asn_gaps: collections.Counter = collections.Counter()
    asn_reasons: dict[tuple[str, int], collections.Counter] = collections.defaultdict(collections.Counter)
    asn_examples: dict[tuple[str, int], str] = {}
    for r in rows:
        if r["ours"]["coarse"] != "unknown" or not r["mx"]:
            continue
        for asn in sorted({a for a in (r["mx_asn_used"] or {}).values() if a}):
            asn_gaps[(r["dataset"], asn)] += 1
            asn_reasons[(r["dataset"], asn)][r["ours"]["detail"].split(" ")[0]] += 1
            asn_examples.setdefault((r["dataset"], asn), r["domain"])
    tables["kb_gaps_asns_of_unknowns"] = [
        {"dataset": k[0], "asn": k[1], "holder": ip_table.names.get(k[1], ""), "domains": v,
         "reasons": dict(asn_reasons[k]), "example": asn_examples[k]} for k, v in asn_gaps.most_common()]
    gaps = collections.Counter()
    gap_examples: dict[str, str] = {}
    for r in rows:
        if r["ours"]["coarse"] != "unknown" or not r["mx"]:
            continue
        unmatched = [d["subject"] for d in r["ours"]["inbound"]
                     if d["reason"] in ("mx-no-address", "mx-unrecognised") and d["subject"]]
        for host in dict.fromkeys(unmatched):
            reg = psl.registrable_domain(host, private=False) or host
            if reg == psl.registrable_domain(r["domain"], private=False):
                reg = "(own domain)"
            gaps[(r["dataset"], reg)] += 1
            gap_examples.setdefault(f"{r['dataset']}:{reg}", r["domain"])
    tables["kb_gaps_mx_domains_of_unknowns"] = [{"dataset": k[0], "mx_domain": k[1], "domains": v,
                                                 "example": gap_examples[f"{k[0]}:{k[1]}"]}
                                                for k, v in gaps.most_common()]
    peer_gw = collections.Counter((r["dataset"], r["peer"]["gateway"], bool(r["ours"]["gateway"]))
                                  for r in rows if r["peer"]["gateway"])
    tables["peer_gateways_vs_ours"] = [{"dataset": k[0], "gateway": k[1], "souverain_sees_gateway": k[2], "domains": v}
                                       for k, v in sorted(peer_gw.items(), key=lambda kv: -kv[1])]
    md += ["## MX domains that no KB fingerprint names, behind souverain's unknowns (KB gap candidates)\n", "| dataset | MX registrable domain | domains | example |",
           "|---|---|---:|---|"]
    for name in all_records:
        md += [f"| {g['dataset']} | {g['mx_domain']} | {g['domains']} | {g['example']} |"
               for g in [g for g in tables["kb_gaps_mx_domains_of_unknowns"] if g["dataset"] == name][:40]]
    # provider MX names souverain does not know, on a known network ("self-managed on X")
    hosted = collections.Counter()
    hosted_labels: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for r in rows:
        if r["ours"]["coarse"] != "self-managed" or r["peer"]["coarse"] != "eu/domestic provider":
            continue
        own = mx_domain(psl, r["domain"])
        for reg in sorted({mx_domain(psl, h) for h in r["mx"]}):
            key = (r["dataset"], "(own domain)" if reg == own else reg)
            hosted[key] += 1
            hosted_labels[key][r["peer"]["provider_raw"]] += 1
    tables["kb_gaps_provider_mx_taken_for_self_managed"] = [
        {"dataset": k[0], "mx_domain": k[1], "domains": v, "peer_labels": dict(hosted_labels[k].most_common(3))}
        for k, v in hosted.most_common()]
    md += ["", "## MX domains souverain calls self-managed (on a known network) where the peer names a provider\n",
           "| dataset | MX registrable domain | domains | peer's labels |", "|---|---|---:|---|"]
    for name in all_records:
        md += [f"| {g['dataset']} | {g['mx_domain']} | {g['domains']} | "
               + ", ".join(f"{k} {v}" for k, v in g["peer_labels"].items()) + " |"
               for g in [g for g in tables["kb_gaps_provider_mx_taken_for_self_managed"] if g["dataset"] == name][:25]]
    md += ["", "## ASNs of the MX hosts behind souverain's unknowns (stand-in addresses from the recorded ASN)\n",
           "| dataset | ASN | registered holder (bundled table) | domains | reasons | example |", "|---|---:|---|---:|---|---|"]
    for name in all_records:
        md += [f"| {g['dataset']} | {g['asn']} | {g['holder']} | {g['domains']} | "
               + ", ".join(f"{k} {v}" for k, v in g["reasons"].items()) + f" | {g['example']} |"
               for g in [g for g in tables["kb_gaps_asns_of_unknowns"] if g["dataset"] == name][:30]]
    md += ["", "## Gateways named by the peers, and whether souverain reports an email.gateway\n",
           "| dataset | peer gateway | souverain reports a gateway | domains |", "|---|---|---|---:|"]
    md += [f"| {g['dataset']} | {g['gateway']} | {g['souverain_sees_gateway']} | {g['domains']} |"
           for g in tables["peer_gateways_vs_ours"]]
    (out / "tables.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (out / "tables.json").write_text(json.dumps(tables, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    with (out / "disagreements.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dataset", "domain", "name", "peer_provider", "peer_coarse", "our_coarse", "our_peer_vocab",
                         "our_result", "peer_gateway", "our_gateway", "mx", "mx_asn_used", "autodiscover",
                         "dkim_selector1", "tenant", "spf", "peer_provider_raw", "our_tier", "no_data", "peer_reason"])
        for r in rows:
            if r["ours"]["coarse"] == r["peer"]["coarse"] and r["ours"]["peer_vocab"] == r["peer"]["provider"]:
                continue
            writer.writerow([r["dataset"], r["domain"], r["name"], r["peer"]["provider"], r["peer"]["coarse"],
                             r["ours"]["coarse"], r["ours"]["peer_vocab"], r["ours"]["detail"], r["peer"]["gateway"] or "",
                             ";".join(g["service"] or "" for g in r["ours"]["gateway"]), " ".join(r["mx"]),
                             " ".join(f"{h}={a}" for h, a in (r["mx_asn_used"] or {}).items()),
                             r["autodiscover"] or "", r["dkim"].get("selector1", ""), r["tenant"] or "", r["spf"][:300],
                             r["peer"]["provider_raw"], r["ours"]["tier"], int(r["no_data"]), r["peer"]["reason"][:400]])
    stats["elapsed_seconds"] = round(time.perf_counter() - clock, 1)
    stats["domains"] = len(rows)
    stats["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}
    (out / "replay_stats.json").write_text(json.dumps(stats, indent=1) + "\n", encoding="utf-8")
    print(f"done: {len(rows)} domains in {stats['elapsed_seconds']} s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
