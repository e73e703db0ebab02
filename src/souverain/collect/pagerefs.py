"""What a web page loads: every http(s) URL in its static HTML, CSS and well-known loader snippets.

The loader snippets are data (the KB's ``loaders/`` records), passed in by the caller. Pure
functions over text (no network). Robust against hostile HTML: the standard library parser
is stopped before ``close()`` (which is quadratic on unterminated constructs), CSS patterns are
bounded, and at most ``MAX_RESOURCES`` URLs are kept.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from souverain.kb.hostnames import normalise_host

if TYPE_CHECKING:
    from souverain.kb.schema import LoaderPattern, TagLoader

MAX_RESOURCES = 2_000


def url_host(host: str) -> str | None:
    """The host of a URL as browsers read it, in ``normalise_host`` form: an IPv4 address in any
    spelling browsers accept (``0xCB.0.113.5``, ``3405803781``) in dotted-decimal form; None for a
    host browsers reject (``1.2.3.999``) or no DNS name can be (an empty label)."""
    host = host.strip().rstrip(".").lower()
    last = host.rpartition(".")[2]
    if last.isdigit() or re.fullmatch(r"0x[0-9a-f]*", last):
        return _ipv4(host)
    try:
        return normalise_host(host)
    except ValueError:
        return None


def _ipv4(host: str) -> str | None:
    """The WHATWG URL Standard's IPv4 parser: a host ending in a number is an address or invalid."""
    numbers = []
    for part in host.split("."):
        if part.startswith("0x"):
            base, digits = 16, part[2:]
        elif part.startswith("0") and len(part) > 1:
            base, digits = 8, part[1:]
        else:
            base, digits = 10, part
        if not part or not re.fullmatch(r"[0-9a-f]*", digits):
            return None
        try:
            numbers.append(int(digits, base) if digits else 0)
        except ValueError:  # 8 or 9 in octal, a-f outside hexadecimal
            return None
    if not 1 <= len(numbers) <= 4 or any(n > 255 for n in numbers[:-1]):
        return None
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return str(ipaddress.IPv4Address(value))


_MAX_SRCSET = 32  # candidates read per srcset: real ones list a handful of widths


# -- resources a page loads -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Resource:
    """A URL a page makes the browser fetch (or names as a connection to open)."""

    url: str
    host: str
    tag: str
    attribute: str | None  # None: found in the element's text (inline script, <style>)
    kind: str


RESOURCE_KINDS = (
    "script", "stylesheet", "preconnect", "dns-prefetch", "preload", "image", "iframe", "media",
    "form", "css-import", "css-url", "loader-snippet", "inline-script",
)
_ATTRIBUTE_KINDS = {
    ("script", "src"): "script", ("img", "src"): "image", ("img", "srcset"): "image",
    ("iframe", "src"): "iframe", ("frame", "src"): "iframe", ("source", "src"): "media",
    ("source", "srcset"): "media", ("video", "src"): "media", ("video", "poster"): "image",
    ("audio", "src"): "media", ("embed", "src"): "media", ("object", "data"): "media",
    ("form", "action"): "form",
}
_LINK_KINDS = {
    "stylesheet": "stylesheet", "preconnect": "preconnect", "dns-prefetch": "dns-prefetch",
    "preload": "preload", "modulepreload": "preload", "icon": "image",
    "apple-touch-icon": "image", "apple-touch-icon-precomposed": "image",
}
# Script types that hold data or templates, not code: URLs in them are not loaded.
_DATA_SCRIPT_TYPES = re.compile(r"json|template|html|text/plain", re.IGNORECASE)

# Bounded on purpose: page content is hostile, and an unbounded lazy match per "url(" would make
# a crafted style sheet quadratic. An unclosed comment runs to the end, as in CSS.
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(["']?)([^"'()\s;]{1,2048})\1""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"'()\s]{0,2048})\1\s*\)""", re.IGNORECASE)

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = rf"(?:{_LABEL}\.)+(?:[A-Za-z][A-Za-z0-9-]{{0,62}})|\d{{1,3}}(?:\.\d{{1,3}}){{3}}"
# Absolute URLs anywhere, protocol-relative ones only right after a quote, "(" or "=" (so that
# "// comment" does not count) and only with a path.
_SCRIPT_URL = re.compile(
    rf"""(?<![\w.+-])https?://(?:{_HOSTNAME})(?::\d{{1,5}})?(?:/[^\s"'`<>\\]*)?"""
    rf"""|(?<=["'(=])//(?:{_HOSTNAME})(?::\d{{1,5}})?/[^\s"'`<>\\]*""",
)
_TRAILING_PUNCTUATION = ".,;:!?)]}"


def loader_urls(script: str, loaders: Sequence[TagLoader]) -> list[str]:
    """URLs that well-known tag loaders (the KB's ``loaders/`` records: Google Tag Manager, Meta
    Pixel, Matomo...) fetch: they build them from pieces, so the generic URL scan sees at best a
    prefix. The records say what to look for; this applies them in order."""
    urls: list[str] = []
    for loader in loaders:
        if loader.when is None or loader.when in script:
            urls += _urls_of(loader, script)
    return list(dict.fromkeys(urls))


def _urls_of(loader: TagLoader, script: str) -> list[str]:
    values: dict[str, str] = {}
    for name, pattern in loader.values.items():
        found = _found(pattern, script, first=True) or (
            [pattern.default] if pattern.default is not None else [])
        if not found:
            return _fallback(loader, script)
        values[name] = found[0]
    if not loader.ids:
        return [loader.url.format(**values)]
    ids = dict.fromkeys(value for pattern in loader.ids for value in _found(pattern, script))
    return [loader.url.format(id=i, **values) for i in ids] or _fallback(loader, script)


def _found(pattern: LoaderPattern, script: str, first: bool = False) -> list[str]:
    if pattern.when is not None and pattern.when not in script:
        return []
    values = []
    for match in pattern.regex.finditer(script):
        value = match.group(1) if pattern.regex.groups else match.group(0)
        if not value:  # an optional group that took no part
            continue
        if pattern.end and not value.endswith(pattern.end):
            value += pattern.end
        values.append(value)
        if first:
            break
    return values


def _fallback(loader: TagLoader, script: str) -> list[str]:
    fallback = loader.fallback
    if fallback is None or (fallback.when is not None and fallback.when not in script):
        return []
    return [fallback.url]


def _css_urls(css: str) -> list[tuple[str, str]]:
    """(url, kind) for ``@import`` and ``url(...)`` references in a style sheet or attribute."""
    css = _CSS_COMMENT.sub("", css)
    found, import_spans = [], []
    for match in _CSS_IMPORT.finditer(css):
        found.append((match.group(2), "css-import"))
        import_spans.append(match.span())
    for match in _CSS_URL.finditer(css):
        if not any(start <= match.start() < end for start, end in import_spans):
            found.append((match.group(2), "css-url"))
    return found


class _PageParser(HTMLParser):
    """Collects resources and the title. html.parser never stops on malformed markup; the few
    constructs it chokes on are neutralised in ``scan_html``."""

    def __init__(self, base_url: str, loaders: Sequence[TagLoader] = ()) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.loaders = loaders
        self.found: dict[tuple[str, str], Resource] = {}
        self.title: str | None = None
        self._title_parts: list[str] | None = None
        self._base_seen = False
        self._text_tag: str | None = None  # "script" or "style" while collecting their text
        self._text_parts: list[str] = []
        self._tried: set[tuple[str, str, str]] = set()

    # -- collecting --------------------------------------------------------------------------
    def add(self, value: str, tag: str, attribute: str | None, kind: str) -> None:
        if len(self.found) >= MAX_RESOURCES or (value, tag, self.base_url) in self._tried:
            return
        self._tried.add((value, tag, self.base_url))  # repeated values cost one urljoin
        url = absolute_http_url(value, self.base_url)
        if url is None or (url, tag) in self.found:
            return
        host = url_host(urlsplit(url).hostname or "")
        if host is None:  # a URL browsers refuse to load
            return
        self.found[(url, tag)] = Resource(url, host, tag, attribute, kind)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, str] = {}
        for name, value in attrs:  # the first of duplicate attributes wins, as in browsers
            if value is not None:
                values.setdefault(name, value)
        if tag == "base" and not self._base_seen and "href" in values:
            self._base_seen = True
            self.base_url = absolute_http_url(values["href"], self.base_url) or self.base_url
        for (element, attribute), kind in _ATTRIBUTE_KINDS.items():
            if element == tag and attribute in values:
                if attribute == "srcset":
                    for candidate in values["srcset"].split(",")[:_MAX_SRCSET]:
                        if candidate.strip():
                            self.add(candidate.split()[0], tag, attribute, kind)
                elif values[attribute].strip():
                    self.add(values[attribute], tag, attribute, kind)
        if tag == "link" and "href" in values:
            tokens = values.get("rel", "").lower().split()
            link_kind = next((_LINK_KINDS[t] for t in tokens if t in _LINK_KINDS), None)
            if link_kind:
                self.add(values["href"], tag, "href", link_kind)
        if "style" in values:
            for url, kind in _css_urls(values["style"]):
                self.add(url, tag, "style", kind)
        if tag == "title" and self.title is None:
            self._title_parts = []
        elif tag == "style" or (
            tag == "script" and "src" not in values
            and not _DATA_SCRIPT_TYPES.search(values.get("type", ""))
        ):
            self._text_tag, self._text_parts = tag, []

    def handle_data(self, data: str) -> None:
        if self._text_tag is not None:
            self._text_parts.append(data)
        elif self._title_parts is not None:
            self._title_parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title_parts is not None:
            self.title = " ".join("".join(self._title_parts).split())[:500]
            self._title_parts = None
        if tag == self._text_tag:
            self.flush_text()

    def finish(self) -> None:
        """End of document, instead of ``close()``, which rescans the unparsed tail once per "<"
        in it (quadratic: 0.8 MB of "<!--" takes minutes). The tail starts with an unterminated
        comment, tag or declaration, which HTML5 drops at end of file anyway, or is the text of
        an unterminated <script> or <style>, which we read."""
        if self._text_tag is not None:
            self._text_parts.append(self.rawdata)
            self.flush_text()
        self.rawdata = ""

    def flush_text(self) -> None:
        tag, text = self._text_tag, "".join(self._text_parts)
        self._text_tag, self._text_parts = None, []
        if tag == "style":
            for url, kind in _css_urls(text):
                self.add(url, "style", None, kind)
        elif tag == "script":
            self.add_script_urls(text)

    def add_script_urls(self, script: str) -> None:
        script = script.replace("\\/", "/")  # JSON-escaped URLs
        loaders = loader_urls(script, self.loaders)
        for url in loaders:
            self.add(url, "script", None, "loader-snippet")
        # Pieces of a loader's URL ("https://www.googletagmanager.com/gtm.js?id=") add nothing.
        covered = [_without_scheme(urljoin(self.base_url, u)) for u in loaders]
        for match in _SCRIPT_URL.finditer(script):
            url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
            bare = _without_scheme(urljoin(self.base_url, url))
            if not any(c.startswith(bare) for c in covered):
                self.add(url, "script", None, "inline-script")


def _without_scheme(url: str) -> str:
    return url.partition("//")[2]


def absolute_http_url(value: str, base_url: str) -> str | None:
    """``value`` resolved against ``base_url`` the way browsers clean it, or None if not http(s)."""
    value = re.sub(r"[\t\n\r]", "", value.strip())
    try:
        url = urldefrag(urljoin(base_url, value)).url
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    # One spelling per URL, so that duplicates are found: lowercase host, "/" for an empty path.
    return urlunsplit(parts._replace(netloc=parts.netloc.lower(), path=parts.path or "/"))


def scan_html(html: str, base_url: str, loaders: Sequence[TagLoader] = (),
              ) -> tuple[list[Resource], str | None]:
    """Resources (see ``extract_resources``) and the title of an HTML document."""
    parser = _PageParser(base_url, loaders)
    # "<![" starts a bogus comment in HTML5, but html.parser asserts on unknown marked sections;
    # "<?" has the same meaning (ignored up to the next ">") and parses everywhere.
    parser.feed(html.replace("<![", "<?["))
    parser.finish()
    return list(parser.found.values()), parser.title


def extract_resources(html: str, base_url: str, loaders: Sequence[TagLoader] = (),
                      ) -> list[Resource]:
    """Every http(s) URL the page makes a browser load or connect to, in document order.

    Pure: no network. Relative URLs are resolved against ``base_url`` (or ``<base href>``),
    duplicates by (url, tag) are dropped, at most ``MAX_RESOURCES`` are returned. ``loaders``
    (``kb.indexes.tag_loaders``) name what tag loader snippets fetch; without them only URLs
    written out whole in scripts are found.
    """
    return scan_html(html, base_url, loaders)[0]
