"""The HTML reports in a real browser (Playwright driving Debian's Chromium, file:// pages, no
network): at 390 px (a phone) the page never scrolls sideways (wide tables scroll inside their
wrapper), and the charts' legend items do not overlap, at 390 and 1280 px. Skipped only when
Chromium or Playwright is not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.display import display_names, record_sources
from souverain.model.load import load
from souverain.model.scan import ScanResult
from souverain.report.render import render_scan

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
GOLDEN = Path(__file__).parents[1] / "golden" / "scan"
OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.legend-item, .bar-label, .tick')].map(e => e.getBoundingClientRect())
    .filter(b => b.width > 0);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) hits.push([i, j]);
  }
  return hits;
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html")
    kb = load_kb()
    names, sources = display_names(kb), record_sources(kb)
    out = {}
    for domain in ("web.test", "m365pp.test"):
        document = json.loads((GOLDEN / f"{domain}.json").read_text(encoding="utf-8"))
        out[domain] = folder / f"{domain}.html"
        out[domain].write_text(render_scan(load(ScanResult, document), "html", "fr", names, sources=sources),
                               encoding="utf-8")
    runner = CliRunner()
    for name, args in {"assess": ["assess", "ovhcloud-secnumcloud"],
                       "compare": ["compare", "aws-esc", "ovhcloud-secnumcloud", "s3ns-premi3ns"]}.items():
        out[name] = folder / f"{name}.html"
        result = runner.invoke(cli, [*args, "--format", "html", "--at", "2026-12-01", "-o", str(out[name])])
        assert result.exit_code in (0, 3), result.output
    return out


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("report", ["web.test", "m365pp.test", "assess", "compare"])
def test_no_sideways_scroll_and_no_overlapping_labels(pages, browser, report, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(pages[report].as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(OVERLAPS) == []
    finally:
        page.close()
