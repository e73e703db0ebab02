"""HAR files (HTTP Archive 1.2, recorded in a browser's developer tools): every request to a host
outside the recorded site's own registrable domains, attributed like the requests headless
Chromium sees a page make (``scan --browser``).

The site is the registrable domain of the pages (``log.pages[].title`` when it is a URL) and of
the first request; hosts under it are first party.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from souverain.errors import DataError
from souverain.inventory.items import Item, clip, pointer
from souverain.inventory.jsonfile import ARRAY, expect, read_json
from souverain.kb.psl import PublicSuffixList


def read(path: Path) -> Iterator[Item]:
    doc = expect(read_json(path, streams=(("log", "entries"),), keep=(("log", "pages"),)), dict, path, "",
                 "not a HAR file (an object is expected)")
    log = expect(doc.get("log"), dict, path, "/log", "not a HAR file (no log object)")
    entries = expect(log.get("entries"), ARRAY, path, "/log/entries", "not a HAR file (no log.entries list)")
    psl = PublicSuffixList.bundled()
    own: set[str] = set()
    pages = log.get("pages") if isinstance(log.get("pages"), list) else []
    for page in pages:
        if isinstance(page, dict):
            own.update(_registrable(psl, clip(page.get("title"))))
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        at = pointer("log", "entries", index)
        entry = expect(entry, dict, path, at, "an entry object is expected")
        request = expect(entry.get("request"), dict, path, at + "/request", "an entry without request")
        url = clip(request.get("url"))
        if not url:
            raise DataError(f"{path}#{at}/request/url: a request without url")
        registrable = _registrable(psl, url)
        if not own:
            own.update(registrable)  # the first request is the site's
        if not registrable or registrable & own:
            continue
        if url in seen:
            continue
        seen.add(url)
        host = urllib.parse.urlsplit(url).hostname or ""
        yield Item("har", "web.third_party", "request", url[:200], f"{path}#{at}", urls=(url,), hosts=(host,))


def _registrable(psl: PublicSuffixList, url: str) -> set[str]:
    try:
        host = urllib.parse.urlsplit(url).hostname if "://" in url else None
    except ValueError:
        return set()
    if not host:
        return set()
    try:
        return {psl.registrable_domain(host) or host}
    except ValueError:
        return set()
