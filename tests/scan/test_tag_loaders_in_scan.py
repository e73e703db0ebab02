"""A scan reads loader snippets with the KB's ``loaders/`` records: the URL a snippet assembles is
the dependency's subject, not the prefix written in the page."""

from __future__ import annotations

from souverain.testing.httpserver import WebServer
from tests.scan.conftest import deps

GTM_PAGE = """<!doctype html><title>Tag Manager only</title>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];
w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;
j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-AB12CD3');</script>"""


def test_the_scan_names_the_container_a_tag_manager_snippet_loads(scan_world, tmp_path):
    (tmp_path / "www.web.test").mkdir()
    (tmp_path / "www.web.test" / "index.html").write_text(GTM_PAGE, encoding="utf-8")
    server = WebServer(tmp_path).start()  # plain HTTP: the fetch falls back to http://
    try:
        result = scan_world("web.test", functions=("web",), fetch_web=True,
                            connect_to=tuple(server.connect_to()))
    finally:
        server.stop()
    [gtm] = [d for d in deps(result, "web.test", "web.third_party")
             if (d["service"] or {}).get("id") == "google-tag-manager"]
    assert gtm["subject"] == "https://www.googletagmanager.com/gtm.js?id=GTM-AB12CD3"
