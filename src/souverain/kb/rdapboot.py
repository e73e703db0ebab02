"""The RDAP bootstrap for domain names (RFC 9224): IANA's ``dns.json``
(https://data.iana.org/rdap/dns.json), checked and bundled with its publication date, so that the
registrar look-up finds every TLD's RDAP server offline. ``souverain kb update-rdap --from FILE``
replaces the bundled copy with a newer download."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from souverain.errors import DataError

BUNDLED = Path(__file__).parent / "bundled" / "rdap-dns.json"
MAX_BYTES = 4 * 1024 * 1024  # IANA's file is about 100 kB
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def read_bootstrap(path: Path) -> dict[str, Any]:
    """The document of ``path`` once it is a well-formed RFC 9224 bootstrap file."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise DataError(f"{path}: larger than {MAX_BYTES:,} bytes: not an RDAP bootstrap file")
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    return check_bootstrap(document, str(path))


def check_bootstrap(document: Any, where: str) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        raise DataError(f"{where}: not an RDAP bootstrap file (an object with a services list, RFC 9224)")
    publication = document.get("publication")
    try:
        dt.datetime.fromisoformat(str(publication))
    except ValueError:
        raise DataError(f"{where}#/publication: not a date and time ({str(publication)[:40]!r})") from None
    seen: set[str] = set()
    for index, entry in enumerate(document["services"]):
        at = f"{where}#/services/{index}"
        if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, list) for part in entry)):
            raise DataError(f"{at}: an entry is a pair [TLDs, base URLs]")
        tlds, urls = entry
        for tld in tlds:
            name = str(tld).lower().rstrip(".")
            if not all(_LABEL.match(label) for label in name.split(".")):
                raise DataError(f"{at}: {str(tld)[:70]!r} is not a TLD")
            if name in seen:
                raise DataError(f"{at}: TLD {name!r} is listed twice")
            seen.add(name)
        if not urls or not all(isinstance(url, str) and re.match(r"^https?://[^\s/]+/\S*$", url) for url in urls):
            raise DataError(f"{at}: base URLs must be http(s) URLs ending in / (got {str(urls)[:100]})")
    return document


def write_bootstrap(document: dict[str, Any], out: Path = BUNDLED) -> dict[str, Any]:
    """Write a checked document compactly; its counts and publication date."""
    services = document["services"]
    text = json.dumps({key: document[key] for key in ("description", "publication", "version") if key in document}
                      | {"services": services}, ensure_ascii=False, separators=(",", ":"))
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{out}: cannot write the file: {exc.strerror or exc}") from exc
    return {"publication": document["publication"], "tlds": sum(len(entry[0]) for entry in services),
            "servers": len({url for entry in services for url in entry[1]}), "file": str(out)}
