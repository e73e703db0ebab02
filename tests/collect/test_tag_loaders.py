"""Tag loader snippets are KB data (``loaders/``): what each record makes a script load, and the
validation a record written by a contributor goes through."""

from __future__ import annotations

import pytest

from souverain.collect.pagerefs import extract_resources, loader_urls
from souverain.errors import KBValidationError
from souverain.kb.base import load_kb
from tests.conftest import _base, write_kb


@pytest.fixture(scope="module")
def loaders():
    return load_kb().indexes.tag_loaders


def test_the_kb_holds_the_loaders_in_id_order(loaders):
    # The first URL of a service is its dependency's subject: Tag Manager's container comes
    # before the Google tag it may load, as it did when these rules were code.
    assert [loader.id for loader in loaders] == [
        "google-analytics-loader", "google-tag-manager-loader", "gtag-loader",
        "hotjar-loader", "matomo-loader", "meta-pixel-loader"]
    both = GTM + "'GTM-AB12CD3'; gtag('config', 'G-XYZ123');"
    assert loader_urls(both, loaders) == ["https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3",
                                          "https://www.googletagmanager.com/gtag/js?id=G-XYZ123"]


GTM = "j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;"


@pytest.mark.parametrize(("script", "urls"), [
    # one URL per container id; the bare library when the id is not in the snippet
    (GTM + "})(window,document,'script','dataLayer','GTM-AB12CD3');",
     ["https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3"]),
    (GTM + "'GTM-AB12CD3'; 'GTM-ZZ99YY'; 'GTM-AB12CD3'",
     ["https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3",
      "https://www.googletagmanager.com/gtm.js?id=GTM-ZZ99YY"]),
    (GTM + "})(window,document,'script','dataLayer',containerId);",
     ["https://www.googletagmanager.com/gtm.js"]),
    ("var id = 'GTM-AB12CD3';", []),  # a container id alone loads nothing
    # gtag: ids from the library URL and from config calls; config calls alone are enough
    ("gtag('config', 'G-XYZ123'); gtag(\"config\",\"AW-987654\")",
     ["https://www.googletagmanager.com/gtag/js?id=G-XYZ123",
      "https://www.googletagmanager.com/gtag/js?id=AW-987654"]),
    ("s.src = 'https://www.googletagmanager.com/gtag/js?id=' + id;",
     ["https://www.googletagmanager.com/gtag/js"]),
    ("function gtag(){dataLayer.push(arguments)}", []),
    ("'//www.google-analytics.com/analytics.js'", ["https://www.google-analytics.com/analytics.js"]),
    ("('https:' == p ? 'https://ssl' : 'http://www') + '.google-analytics.com/ga.js'",
     ["https://www.google-analytics.com/ga.js"]),
    ("'https://connect.facebook.net/fr_FR/fbevents.js'",
     ["https://connect.facebook.net/fr_FR/fbevents.js"]),
    # Matomo: the server the site configured, "/" added, piwik.js for Piwik-era code
    ("var _paq = []; var u=\"//stats.example.org/matomo/\"; g.src=u+'matomo.js';",
     ["//stats.example.org/matomo/matomo.js"]),
    ("var _paq = []; var u = 'https://m.example.net/piwik'; g.src=u+'piwik.js';",
     ["https://m.example.net/piwik/piwik.js"]),
    ("var u=\"//stats.example.org/\";", []),  # no _paq: not Matomo
    ("var _paq = []; g.src = base + 'matomo.js';", []),  # no server to name
    # Hotjar: site id and snippet version, version 6 by default, the CDN when the id is missing
    ("h._hjSettings={hjid:1234567,hjsv:5};'https://static.hotjar.com/c/hotjar-'",
     ["https://static.hotjar.com/c/hotjar-1234567.js?sv=5"]),
    ("h._hjSettings={hjid : 42};'//static.hotjar.com/c/hotjar-'",
     ["https://static.hotjar.com/c/hotjar-42.js?sv=6"]),
    ("'https://static.hotjar.com/c/hotjar-' + siteId", ["https://static.hotjar.com/"]),
    ("h._hjSettings={hjid:1234567,hjsv:6};", []),  # the settings without the loader
])
def test_what_each_snippet_loads(loaders, script, urls):
    assert loader_urls(script, loaders) == urls


def test_loaders_in_a_page_are_resolved_and_kept_apart_from_their_pieces(loaders):
    page = "<script>var _paq=[]; var u='//stats.example.org/'; g.src=u+'matomo.js';</script>"
    found = extract_resources(page, "https://www.site.test/", loaders)
    assert [(r.url, r.kind) for r in found] == [
        ("https://stats.example.org/matomo.js", "loader-snippet")]
    # without the KB's loaders only the piece written out whole is seen: the server, not the script
    assert [(r.url, r.kind) for r in extract_resources(page, "https://www.site.test/")] == [
        ("https://stats.example.org/", "inline-script")]


LOADER = {"name": "Test snippet", "when": "loadme", "url": "https://cdn.example.com/{id}.js",
          "ids": [{"pattern": r"load\.me/(\w+)"}]}


def loader_problems(tmp_path, mini_records, **changes) -> list[str]:
    record = _base(id="test-loader", **{**LOADER, **changes})
    root = write_kb(tmp_path / "kb", {**mini_records, "loaders": {"test-loader": record}})
    try:
        load_kb(root)
    except KBValidationError as exc:
        return [str(problem) for problem in exc.problems]
    return []


def test_a_valid_loader_record_loads(tmp_path, mini_records):
    assert loader_problems(tmp_path, mini_records) == []
    kb = load_kb(tmp_path / "kb")
    assert loader_urls("loadme load.me/abc", kb.indexes.tag_loaders) == [
        "https://cdn.example.com/abc.js"]


@pytest.mark.parametrize(("changes", "problem"), [
    ({"ids": [{"pattern": "load(\\.me"}]}, "not a regular expression"),
    ({"ids": [{"pattern": r"(load)\.(me)"}]}, "at most one group"),
    ({"url": "https://cdn.example.com/{name}.js"}, "{name} is not one of ['id']"),
    ({"url": "https://cdn.example.com/{id.__class__}.js"}, "is not one of"),
    ({"url": "https://cdn.example.com/{id!r}.js"}, "write {id} plainly"),
    ({"ids": [], "when": None, "url": "https://cdn.example.com/x.js"}, "give `when`, `ids` or"),
    ({"values": {"id": {"pattern": "x"}}}, "`id` is the name of the ids' value"),
    ({"ids": [{"pattern": "x", "default": "y"}]}, "a `default` only applies to values"),
    ({"fallback": {"url": "javascript:alert(1)"}}, "fallback.url"),
])
def test_a_bad_loader_record_is_a_problem_with_its_file(tmp_path, mini_records, changes, problem):
    found = loader_problems(tmp_path, mini_records, **changes)
    assert any("/loaders/test-loader.yaml:" in p and problem in p for p in found), found
