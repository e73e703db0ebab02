"""The peers' recorded municipalities (Swiss, Nordic, Hungarian) as domain profiles, and their measures.

Used by gen_real_world.py: the recordings are read with the loaders of ``benchmarks/eval/replay.py``
(the same reading as the agreement evaluation), plus the Hungarian data and the two signals the
replay does not need (MX CNAME chains and SPF-address ASNs). ``measure`` computes the record mix
of any list of ``Spec`` (recorded or generated) so both are measured by the same code.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "eval"))

import replay

DATASETS = {"ch": "mxmap-ch", "nordic": "mxmap-nordic", "hu": "mxmap-hu"}
CNAME_CHAIN_RE = re.compile(r"CNAME chain (\S+) \u2192 (\S+)")
SPF_IP_ASN_RE = re.compile(r"SPF ip4/a ASN (\d+)")


@dataclasses.dataclass
class Profile:
    """One recorded domain: the fields a survey asks about."""

    dataset: str
    domain: str
    mx: list[str]
    spf: str
    dkim: dict[str, str]
    autodiscover_cname: str | None
    autodiscover_srv: str | None
    tokens: dict[str, str | None]  # verification kind -> recorded token (None: recorded as present only)
    amazonses: bool
    dmarc: str | None
    tenant: str | None
    mx_cname: dict[str, str]  # MX host -> CNAME target (Hungarian signals)
    spf_ip_asns: list[int]  # ASNs of the SPF ip4/a addresses (Swiss and Hungarian signals)
    mx_asns: list[int]  # Nordic: the ASNs of all MX hosts; Swiss, Hungarian: those the peer recognised


def load(eval_dir: Path) -> tuple[list[Profile], dict[str, str], dict[str, int], dict]:
    """(profiles, SPF include -> text, MX host -> ASN, loading statistics)."""
    records: dict[str, list] = {
        "ch": replay.load_ch(eval_dir / DATASETS["ch"] / "data.json"),
        "nordic": replay.load_nordic(eval_dir / DATASETS["nordic"] / "data.json"),
        # the Hungarian file has the Swiss layout (same upstream code): the Swiss loader reads it
        "hu": replay.load_ch(eval_dir / DATASETS["hu"] / "data.json"),
    }
    stats: dict = {}
    extra: dict[str, dict[str, tuple[dict, list]]] = {}
    for dataset in ("ch", "hu"):
        raw = json.loads((eval_dir / DATASETS[dataset] / "data.json").read_text(encoding="utf-8"))["municipalities"]
        extra[dataset] = {key: _signals(entry) for key, entry in raw.items()}
    for rec in records["hu"]:
        rec.dataset, rec.country = "hu", "HU"
    for dataset, recs in records.items():
        stats[f"{dataset}_rows"] = len(recs)
        without = [r for r in recs if not r.domain]
        stats[f"{dataset}_rows_without_domain"] = len(without)
        kept, duplicates = replay.dedupe([r for r in recs if r.domain])
        stats[f"{dataset}_duplicate_domains"] = duplicates
        records[dataset] = kept
    spf_dict, spf_stats = replay.build_spf_dictionary(records["nordic"])
    stats["spf_dictionary"] = spf_stats
    all_records = [r for recs in records.values() for r in recs]
    host_asn, asn_stats = replay.assign_mx_asns(all_records)
    stats["mx_host_asn_votes"] = dict(asn_stats)
    profiles = []
    for rec in all_records:
        mx_cname, spf_ip = extra.get(rec.dataset, {}).get(rec.id, ({}, []))
        profiles.append(Profile(rec.dataset, rec.domain, list(dict.fromkeys(h for h in rec.mx if h)), rec.spf,
                                dict(rec.dkim), rec.autodiscover_cname, rec.autodiscover_srv, dict(rec.txt_tokens),
                                rec.amazonses_txt, rec.dmarc, rec.tenant, mx_cname, spf_ip, list(rec.mx_asns)))
    return profiles, spf_dict, host_asn, stats


def _signals(entry: dict) -> tuple[dict[str, str], list[int]]:
    chains, asns = {}, []
    for signal in entry.get("classification_signals") or []:
        if signal["kind"] == "cname_chain" and (m := CNAME_CHAIN_RE.match(signal["detail"])):
            chains[m.group(1).lower().rstrip(".")] = m.group(2).lower().rstrip(".")
        elif signal["kind"] == "spf_ip" and (m := SPF_IP_ASN_RE.match(signal["detail"])):
            asns.append(int(m.group(1)))
    return chains, asns


# --------------------------------------------------------------------------------------------
# measures: the same code for the recordings and for the generated world
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Spec:
    """What one input name looks like in DNS (recorded or generated)."""

    dataset: str
    exists: str  # "yes", "nxdomain" (not served), "refused" (failing)
    mx: list[str] = dataclasses.field(default_factory=list)
    null_mx: bool = False
    mx_address: dict[str, bool | None] = dataclasses.field(default_factory=dict)  # None: not recorded
    mx_cname: bool = False
    mx_own: list[bool] = dataclasses.field(default_factory=list)  # host under the domain itself
    mx_asn: int | None = None  # of the first MX host
    mx_asn_recorded: bool = False  # ... and the recordings give it
    spf: str | None = None
    dkim: tuple[str, ...] = ()
    autodiscover: str | None = None  # "cname" / "srv"
    tokens: tuple[str, ...] = ()
    tenant_host: bool = False  # <dashed>.mail.protection.outlook.com served (tenant recorded)
    dmarc: str | None = None  # None: none; "recorded-unknown": not recorded
    tlsrpt: bool | None = None


def spf_tree(text: str | None, lookup, limit: int = 60) -> tuple[int, set[str], int]:
    """(direct include/redirect terms, the names fetched to expand it, depth) of an SPF record."""
    if not text:
        return 0, set(), 0
    direct = len(replay.spf_names(text))
    seen: set[str] = set()
    depth = 0
    level = [n.lower().rstrip(".") for n in replay.spf_names(text)]
    while level and len(seen) < limit:
        depth += 1
        following = []
        for name in level:
            if name in seen:
                continue
            seen.add(name)
            following += [n.lower().rstrip(".") for n in replay.spf_names(lookup(name) or "")]
        level = following
    return direct, seen, depth


def _bucket(value: int, edges: list[int]) -> str:
    for low, high in zip(edges, edges[1:] + [None]):
        if high is None or value < high:
            return str(low) if high == low + 1 else (f"{low}+" if high is None else f"{low}-{high - 1}")
    return str(edges[-1])


def measure(specs: list[Spec], spf_lookup, registrable) -> dict:
    """Shares (per cent of the input names, or of the existing domains) of every measured feature."""
    total = len(specs)
    live = [s for s in specs if s.exists == "yes"]
    n = max(1, len(live))
    pct = lambda k, d=n: round(100 * k / max(1, d), 2)
    out: dict = {"input names": total, "existing domains": len(live)}
    out["input names not existing (NXDOMAIN) %"] = pct(sum(s.exists == "nxdomain" for s in specs), total)
    out["input names failing (REFUSED) %"] = pct(sum(s.exists == "refused" for s in specs), total)
    out["datasets %"] = {k: pct(v) for k, v in sorted(collections.Counter(s.dataset for s in live).items())}
    out["MX hosts per domain %"] = _shares(live, lambda s: "null MX" if s.null_mx else _bucket(len(s.mx), [0, 1, 2, 3, 4, 5]))
    out["null MX %"] = pct(sum(s.null_mx for s in live))
    with_mx = [s for s in live if s.mx]
    # sharing: how many domains name each MX host (a survey resolves each distinct host once)
    users = collections.Counter(h for s in with_mx for h in s.mx)
    out["distinct MX hosts per 1,000 domains with MX"] = round(1000 * len(users) / max(1, len(with_mx)), 1)
    out["MX hosts: most shared host named by, domains %"] = _shares(
        with_mx, lambda s: _bucket(max(users[h] for h in s.mx), [1, 2, 10, 100, 1000]), len(with_mx))
    out["MX on the domain's own name %"] = pct(sum(1 for s in with_mx if any(s.mx_own)))
    families = collections.Counter()
    for s in with_mx:
        fams = {"(own domain)" if own else (registrable(h) or h) for h, own in zip(s.mx, s.mx_own)}
        families.update(fams)
    out["MX provider domains (top 15), domains %"] = {k: pct(v) for k, v in families.most_common(15)}
    out["MX provider domains: distinct"] = len(families)
    known = [s for s in with_mx if all(v is not None for v in s.mx_address.values())]
    out["MX address known (recorded: ASN recorded) for every host, domains %"] = pct(len(known), len(with_mx))
    out["no MX host has an address, of those domains %"] = pct(
        sum(1 for s in known if not any(s.mx_address.values())), len(known))
    out["MX host is a CNAME %"] = pct(sum(s.mx_cname for s in with_mx))
    asns = collections.Counter(s.mx_asn for s in with_mx if s.mx_asn and s.mx_asn_recorded)
    out["first MX host ASN where recorded (top 12), of those domains %"] = {
        str(k): pct(v, sum(asns.values())) for k, v in asns.most_common(12)}
    out["first MX host ASN recorded, domains %"] = pct(sum(1 for s in with_mx if s.mx_asn_recorded), len(with_mx))
    trees = [spf_tree(s.spf, spf_lookup) for s in live]
    out["SPF record %"] = pct(sum(1 for s in live if s.spf))
    out["SPF include/redirect terms %"] = _shares(list(range(len(live))), lambda i: _bucket(trees[i][0], [0, 1, 2, 3, 4]))
    out["SPF names fetched to expand %"] = _shares(list(range(len(live))), lambda i: _bucket(len(trees[i][1]), [0, 1, 2, 3, 5, 10]))
    out["SPF include depth %"] = _shares(list(range(len(live))), lambda i: _bucket(trees[i][2], [0, 1, 2, 3]))
    out["SPF names fetched per domain (mean)"] = round(sum(len(t[1]) for t in trees) / n, 2)
    out["distinct SPF names per 1,000 domains"] = round(1000 * len(set().union(*(t[1] for t in trees))) / n, 1)
    out["DKIM selector CNAMEs %"] = _shares(live, lambda s: "+".join(sorted(s.dkim)) or "none")
    out["autodiscover %"] = _shares(live, lambda s: s.autodiscover or "none")
    out["verification TXT %"] = {k: pct(v) for k, v in sorted(collections.Counter(
        t for s in live for t in s.tokens).items())}
    out["M365 tenant (derived EOP host served) %"] = pct(sum(s.tenant_host for s in live))
    out["DMARC %"] = _shares(live, lambda s: s.dmarc or "none")
    out["TLS-RPT %"] = _shares(live, lambda s: "not recorded" if s.tlsrpt is None else ("yes" if s.tlsrpt else "no"))
    return out


def _shares(items: list, key, total: int | None = None) -> dict:
    counts = collections.Counter(key(i) for i in items)
    total = total or max(1, len(items))
    return {k: round(100 * v / total, 2) for k, v in sorted(counts.items(), key=lambda kv: _order(kv[0]))}


def _order(label: str):
    m = re.match(r"(\d+)", label)
    return (0, int(m.group(1)), label) if m else (1, 0, label)
