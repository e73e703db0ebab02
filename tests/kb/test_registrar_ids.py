"""IANA registrar ids in the KB (``iana_registrar_id``, used by ``scan --functions registrar``) come
from the IANA registrar-ids registry: each is cited by a source naming that id, or explicitly marked
unverified; and the large registrars' ids map to their operators."""

from __future__ import annotations

import re

import pytest

from souverain.kb.base import load_kb


def test_every_registrar_id_is_sourced_or_marked() -> None:
    kb = load_kb()
    unsourced = []
    for eid, entity in sorted(kb.entities.items()):
        number = entity.iana_registrar_id
        if number is None:
            continue
        cited = any(re.search(rf"IANA Registrar IDs registry\b.*: {number}, ", source.title or "")
                    for source in entity.sources)
        if not cited and "iana_registrar_id" not in (entity.unverified or {}):
            unsourced.append(f"{eid}: {number}")
    assert not unsourced, "registrar ids without a registry source or an unverified mark: " + ", ".join(unsourced)


@pytest.mark.parametrize(("number", "entity"), [
    (146, "godaddy"), (1068, "namecheap"), (69, "tucows"), (83, "ionos"), (433, "ovh-sas"), (81, "gandi"),
    (895, "squarespace"), (468, "amazon"), (292, "markmonitor"), (299, "csc"), (269, "key-systems"),
    (2, "network-solutions"), (3240, "infomaniak"), (1636, "hostinger"), (1910, "cloudflare"),
])
def test_large_registrars_map_to_their_operator(number: int, entity: str) -> None:
    assert load_kb().indexes.registrars.get(number) == entity
