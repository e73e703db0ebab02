"""What changed between stored scans of a domain, function by function."""

from __future__ import annotations

import dataclasses

from souverain.store.database import Store


@dataclasses.dataclass
class Change:
    domain: str
    function: str
    before: list[str]
    after: list[str]
    since: str  # date of the earlier scan
    until: str  # date of the later scan
    scan_before: int
    scan_after: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _label(row: dict) -> str:
    if row["service_name"]:
        return row["service_name"] if row["status"] != "self-managed" else f"self-managed on {row['service_name']}"
    return row["status"]


def snapshot(store: Store, scan_id: int, domain: str) -> dict[str, list[str]]:
    functions: dict[str, set[str]] = {}
    for row in store.dependencies_of(scan_id, domain):
        functions.setdefault(row["function"], set()).add(_label(row))
    return {function: sorted(labels) for function, labels in functions.items()}


def changes(store: Store, domain: str) -> tuple[list[dict], list[Change]]:
    scans = store.scans_of(domain)
    found: list[Change] = []
    previous = None
    for scan in scans:
        current = snapshot(store, scan["id"], domain)
        if previous is not None:
            prev_scan, prev_snapshot = previous
            for function in sorted(set(prev_snapshot) | set(current)):
                before, after = prev_snapshot.get(function, []), current.get(function, [])
                if before != after:
                    found.append(Change(domain, function, before, after, prev_scan["started"][:10],
                                        scan["started"][:10], prev_scan["id"], scan["id"]))
        previous = (scan, current)
    return scans, found
