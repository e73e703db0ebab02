"""What changed between stored scans of a domain, function by function.

Two scans only compare the functions both of them collected: ``--functions mail`` after a full
scan says nothing about the web, so its missing ``tls.ca`` is "not compared", never "moved to -".
Likewise, what only an inventory showed (``scan --inventory``: every piece of evidence read from a
file) is compared only between two scans that both read inventories.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from souverain.store.database import Store

ALL_GROUPS = ("mail", "dns", "web")  # what a scan collects when its document does not say


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


@dataclasses.dataclass
class NotCompared:
    """Functions seen in one of two consecutive scans that the other did not collect."""

    domain: str
    functions: list[str]
    groups_before: list[str]  # the --functions of each scan
    groups_after: list[str]
    since: str
    until: str
    scan_before: int
    scan_after: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class History:
    scans: list[dict]
    changes: list[Change]
    not_compared: list[NotCompared]


def _label(row: dict) -> str:
    if row["service_name"]:
        return row["service_name"] if row["status"] != "self-managed" else f"self-managed on {row['service_name']}"
    return row["status"]


def snapshot(store: Store, scan_id: int, domain: str) -> dict[str, list[str]]:
    functions: dict[str, set[str]] = {}
    for row in store.dependencies_of(scan_id, domain):
        functions.setdefault(row["function"], set()).add(_label(row))
    return {function: sorted(labels) for function, labels in functions.items()}


def _groups(document: dict) -> list[str]:
    """The check groups a stored scan ran (its ``--functions``, and ``inventory:KIND`` per inventory)."""
    groups = (document.get("scan") or {}).get("functions")
    return list(groups) if groups else list(ALL_GROUPS)


def inventory_only(document: dict, domain: str) -> set[tuple[str, str]]:
    """(function, label) of the dependencies of ``domain`` that rest on inventory files alone."""
    source = {item.get("id"): item.get("source") for item in (document.get("evidence") or {}).get(domain, ())}
    files: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    for dep in document.get("dependencies") or ():
        if dep.get("domain") != domain:
            continue
        key = (dep.get("function", ""), _label({"service_name": (dep.get("service") or {}).get("name"),
                                                 "status": dep.get("status")}))
        ids = dep.get("evidence") or ()
        (files if ids and all(source.get(i) == "file" for i in ids) else seen).add(key)
    return files - seen


def _read_inventories(groups: list[str]) -> bool:
    return any(group.startswith("inventory:") for group in groups)


def history(store: Store, domain: str, group_of: Mapping[str, str | None]) -> History:
    """Consecutive scans of ``domain`` compared on the functions both collected; ``group_of`` maps
    a function to its check group (the KB's ``functions/*.yaml`` ``collected_by``)."""
    scans = store.scans_of(domain)
    found: list[Change] = []
    skipped: list[NotCompared] = []
    previous = None
    for scan in scans:
        document = store.document(scan["id"])
        current = snapshot(store, scan["id"], domain), _groups(document), inventory_only(document, domain)
        if previous is not None:
            (prev_scan, (prev_snapshot, prev_groups, prev_files)), (now_snapshot, groups, files) = previous, current
            since, until = prev_scan["started"][:10], scan["started"][:10]
            both_read_files = _read_inventories(prev_groups) and _read_inventories(groups)
            unseen = []
            for function in sorted(set(prev_snapshot) | set(now_snapshot)):
                group = group_of.get(function)
                if group is not None and (group not in prev_groups or group not in groups):
                    unseen.append(function)
                    continue
                before, after = prev_snapshot.get(function, []), now_snapshot.get(function, [])
                if not both_read_files:  # what only a file showed is not compared with a scan that read none
                    hidden = (any((function, label) in prev_files for label in before)
                              or any((function, label) in files for label in after))
                    if hidden:
                        unseen.append(function)
                        before = [label for label in before if (function, label) not in prev_files]
                        after = [label for label in after if (function, label) not in files]
                if before != after:
                    found.append(Change(domain, function, before, after, since, until, prev_scan["id"], scan["id"]))
            if unseen:
                skipped.append(NotCompared(domain, unseen, prev_groups, groups, since, until,
                                           prev_scan["id"], scan["id"]))
        previous = (scan, current)
    return History(scans, found, skipped)


def changes(store: Store, domain: str, group_of: Mapping[str, str | None]) -> tuple[list[dict], list[Change]]:
    """(stored scans of ``domain``, changes between consecutive ones)."""
    found = history(store, domain, group_of)
    return found.scans, found.changes
