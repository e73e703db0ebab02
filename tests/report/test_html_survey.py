"""The survey HTML report (issue 13 item 2): a verdict in one sentence with its colour, areas by
their names in both languages, a choropleth legend with its scale and "no data" apart from 0 %,
no empty table, a readable dated title, sources with links, print rules, no script, and a page
that fits a 390 px phone screen.

Unit tests feed synthetic survey rows to the aggregate and render them; the end-to-end ones survey
the loopback test world through the CLI."""

from __future__ import annotations

import html as html_module
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.model.survey import CompactDependency, SurveyRow
from souverain.report.survey import diff_html, survey_html, survey_table
from souverain.survey.aggregate import Aggregate

CHROMIUM = "/usr/bin/chromium"
CREATED = "2026-12-07T18:39:00Z"
LAW_COUNTRIES = {"us-law": "US", "ch-law": "CH"}


class Page(HTMLParser):
    """The parts of a page the tests read: title, tables (rows of cell texts), links, class names,
    the fills of map shapes and the text of every element with a class."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title = ""
        self.tables: list[list[list[str]]] = []
        self.links: list[tuple[str, str]] = []
        self.classes: list[str] = []
        self.fills: list[tuple[str, str]] = []  # (fill, title) of each map path
        self._stack: list[str] = []
        self._cell: list[str] | None = None
        self._link: list[str] | None = None
        self._href = ""
        self._path: str | None = None
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._stack.append(tag)
        self.classes += (attrs.get("class") or "").split()
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self._link, self._href = [], attrs.get("href", "")
        elif tag == "path":
            self._path = attrs.get("fill", "")

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append(re.sub(r"[ \t\r\n]+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._href, "".join(self._link).strip()))
            self._link = None
        elif tag == "path":
            self._path = None

    def handle_data(self, data):
        if self._stack and self._stack[-1] in ("style",):
            return
        if self._stack and self._stack[-1] == "title" and self._path is None and "svg" not in self._stack:
            self.title += data
        if self._path is not None and self._stack and self._stack[-1] == "title":
            self.fills.append((self._path, data))
        if self._cell is not None:
            self._cell.append(data)
        if self._link is not None:
            self._link.append(data)
        self.text.append(data)

    @property
    def words(self) -> str:
        return re.sub(r"[ \t\r\n]+", " ", " ".join(self.text)).strip()  # no-break spaces kept


def row(domain: str, region: str, mail: tuple[str | None, bool | None], laws: tuple[str, ...] = (),
        dns: tuple[str | None, bool | None] = ("OVHcloud DNS", False)) -> SurveyRow:
    service, foreign = mail
    deps = (CompactDependency("email.inbound", "identified" if service else "unknown", "high",
                              "verified" if service else "unknown", "svc" if service else None,
                              "ctl" if service else None, "US" if foreign else "FR", laws, "mx-service", None),)
    return SurveyRow(domain=domain, status="ok", reason=None, verdict="exposed" if foreign else "not-exposed",
                     foreign_laws=" ".join(laws) or None,
                     mail_status="identified" if service else "unknown", mail_service=service,
                     mail_country="US" if foreign else ("FR" if service else None), mail_foreign=foreign,
                     mail_tier="verified" if service else "unknown",
                     dns_status="identified", dns_service=dns[0], dns_country="FR", dns_foreign=dns[1],
                     dns_tier="verified", attrs={"region": region}, dependencies=deps)


def data_of(rows: list[SurveyRow], functions=("mail", "dns"), group_by: str | None = "region",
            sources: dict | None = None) -> dict:
    agg = Aggregate(group_by, law_countries=LAW_COUNTRIES).feed(rows).as_dict()
    agg["functions"] = {k: v for k, v in agg["functions"].items() if k in functions}
    names = {"mail": ("Inbound e-mail (mailboxes)", "Courriel entrant (boîtes aux lettres)"),
             "dns": ("Authoritative DNS", "DNS faisant autorité")}
    for prefix, entry in agg["functions"].items():
        entry["name"], entry["name_fr"] = names.get(prefix, (None, None))
    run = {"id": 1, "name": "communes", "created": CREATED, "status": "complete", "total": len(rows), "bad_rows": 0,
           "kb_version": "2026-12-07+abc"}
    return {"run": run, "aggregate": agg, "sources": sources or {}}


@pytest.fixture
def mixed() -> dict:
    """Brittany: two domains reached by US law; Île-de-France: one not reached, one unknown;
    Corsica (94): one unknown only, so no data there for mail (but DNS is known: 0 %)."""
    return data_of([
        row("a.test", "53", ("Exchange Online", True), ("us-law",)),
        row("b.test", "53", ("Exchange Online", True), ("us-law", "ch-law")),
        row("c.test", "11", ("OVHcloud E-mail", False)),
        row("d.test", "11", (None, None)),
        row("e.test", "94", (None, None)),
    ])


def test_areas_are_named_in_the_report_language(mixed):
    for lang, brittany, corsica in (("en", "53 Brittany", "94 Corsica"), ("fr", "53 Bretagne", "94 Corse")):
        page = Page(survey_html(mixed, lang))
        groups = page.tables[-1]
        first_column = [cells[0] for cells in groups[1:]]
        assert first_column == ["11 Île-de-France", brittany, corsica], (lang, first_column)
        shapes = " ".join(title for _, title in page.fills)
        assert brittany.split(" ", 1)[1] in shapes  # the map's tooltips too


def test_no_data_is_shown_apart_from_zero(mixed):
    page = Page(survey_html(mixed, "en"))
    groups = {cells[0]: cells for cells in page.tables[-1][1:]}
    corsica = groups["94 Corsica"]
    assert corsica[2] == "no data"  # mail: its only domain is unknown
    assert corsica[3] == "0\u00a0%"  # DNS: known and not reached, a real 0 %
    assert not re.search(r"0\.0\s%", " ".join(corsica)) and "(0 " not in " ".join(" ".join(r) for r in page.tables[-1])
    assert groups["11 Île-de-France"][2] == "0\u00a0% (1 unknown)"
    fills: dict[str, str] = {}
    for fill, title in page.fills:  # the mail map comes first
        fills.setdefault(title.split(": ")[0], fill)
    hatched = {fill for fill, title in page.fills if title.endswith("no data")}
    assert hatched == {"url(#nodata-mail)", "url(#nodata-dns)"}  # the hatched swatch, on both maps
    assert fills["94 Corsica"] != fills["11 Île-de-France"]  # no data (mail) is not 0 %
    terminal = survey_table(mixed, "en", width=200)
    assert re.search(r"94 Corsica\s*\S*\s*1\s*\S*\s*no data", terminal), terminal


def test_the_map_has_a_legend_with_its_scale_and_a_no_data_swatch(mixed):
    html = survey_html(mixed, "fr")
    legend = html[html.index('class="legend"'):html.index('class="maps"')]
    labels = [html_module.unescape(text) for text in re.findall(r"</svg>([^<]+)</li>", legend)]
    assert labels == [text.replace(" %", "\u00a0%") for text in ("0 %", "< 25 %", "25–50 %", "50–75 %", "≥ 75 %")] \
        + ["pas de données"]
    assert "url(#nodata-key)" in legend and 'id="nodata-key"' in html
    assert "parmi ceux dont la réponse est connue" in legend  # what the scale measures


def test_verdict_in_one_sentence_with_the_colour_of_the_result(mixed):
    page = Page(survey_html(mixed, "en"))
    assert "v-undetermined" in page.classes  # 2 of 5 domains reached: amber
    sentence = ("Inbound e-mail (mailboxes): of 5 domains, 40 % are reachable by a foreign law "
                "(United States: 2, Switzerland: 1), 20 % are not, 40 % unknown.").replace(" %", "\u00a0%")
    assert sentence in page.words
    fr = Page(survey_html(mixed, "fr")).words
    assert "sur 5 domaines, 40\u00a0% sont atteignables par une loi étrangère (États-Unis\u00a0: 2, Suisse\u00a0: 1)" in fr


def test_verdict_colour_follows_the_result():
    clean = data_of([row("a.test", "11", ("OVHcloud E-mail", False)), row("b.test", "11", ("OVHcloud E-mail", False))])
    assert "v-not-exposed" in Page(survey_html(clean, "en")).classes
    unknown = data_of([row("a.test", "11", ("OVHcloud E-mail", False)), row("b.test", "11", (None, None))])
    assert "v-undetermined" in Page(survey_html(unknown, "en")).classes
    few = data_of([row(f"{i}.test", "11", ("OVHcloud E-mail", False)) for i in range(3)]
                  + [row("x.test", "11", ("Exchange Online", True), ("us-law",))])
    assert "v-undetermined" in Page(survey_html(few, "en")).classes  # 25 %: amber, not red
    most = data_of([row(f"{i}.test", "11", ("Exchange Online", True), ("us-law",)) for i in range(3)]
                   + [row("x.test", "11", ("OVHcloud E-mail", False))])
    assert "v-exposed" in Page(survey_html(most, "en")).classes


def test_large_populations_read_as_numbers_of_the_language():
    data = data_of([row("a.test", "11", ("OVHcloud E-mail", False))])
    data["aggregate"]["functions"]["mail"].update(foreign=1000, not_foreign=234, unknown=0, none=0)
    assert "of 1,234 domains, 81\u00a0% are reachable" in Page(survey_html(data, "en")).words
    assert "sur 1\u202f234 domaines, 81\u00a0% sont atteignables" in Page(survey_html(data, "fr")).words


def test_decimal_shares_follow_the_language():
    data = data_of([row(f"{i}.test", "11", ("Exchange Online", True), ("us-law",)) for i in range(2)]
                   + [row("x.test", "11", ("OVHcloud E-mail", False))])
    assert Page(survey_html(data, "fr")).tables[-1][1][2] == "66,7\u00a0%"
    assert Page(survey_html(data, "en")).tables[-1][1][2] == "66.7\u00a0%"


def test_no_empty_table(mixed):
    data = data_of([row("a.test", "11", (None, None))], functions=("mail",))
    for lang, message in (("en", "No provider identified"), ("fr", "Aucun fournisseur identifié")):
        page = Page(survey_html(data, lang))
        assert all(len(table) > 1 for table in page.tables), page.tables
        assert message in page.words
    data["aggregate"]["functions"]["mail"]["tiers"] = dict.fromkeys(("verified", "registered", "inferred", "unknown"), 0)
    tiers = Page(survey_html(data, "en")).tables[0]
    assert tiers[1][1:] == ["no data"] * 4  # a function without any answer: no "0 (0.0 %)"


def test_title_is_the_run_name_and_a_readable_date(mixed):
    assert Page(survey_html(mixed, "en")).title == "souverain · communes · 7 December 2026, 18:39 UTC"
    page = Page(survey_html(mixed, "fr"))
    assert page.title == "souverain · communes · 7 décembre 2026 à 18:39 UTC"
    assert "2026-12-07T" not in page.words


def test_sources_are_listed_with_links(mixed):
    sources = {"input": "communes.csv", "kb_version": "2026-12-07+abc", "kb_date": "2026-12-07",
               "ip_table": [{"package": "@ip-location-db/asn", "version": "2.3", "date": "2026-06-17",
                             "licence": "CC-BY-4.0"}],
               "records": [{"kind": "laws", "id": "us-law", "name": "US Test Act", "as_of": "2026-11-28",
                            "sources": [{"url": "https://example.org/act", "title": "The act", "retrieved": "2026-11-28",
                                         "published": "2018-03-23"}]}]}
    mixed["sources"] = sources
    page = Page(survey_html(mixed, "en", names={"laws": {"us-law": {"en": "US Test Act", "fr": "Loi d'essai"}}}))
    assert ("https://example.org/act", "The act") in page.links
    words = page.words
    assert "Input file: communes.csv" in words and "2026-12-07+abc" in words
    assert "@ip-location-db/asn 2.3 (2026-06-17, CC-BY-4.0)" in words
    assert "published 2018-03-23" in words
    assert "Loi d'essai" in Page(survey_html(mixed, "fr", names={"laws": {"us-law": {"en": "US Test Act",
                                                                                      "fr": "Loi d'essai"}}})).words


def test_printable_self_contained_and_scripted_nowhere(mixed):
    html = survey_html(mixed, "en")
    assert "@media print" in html and "print-color-adjust:exact" in html
    assert "<script" not in html.lower() and "src=" not in html  # nothing fetched, nothing run
    page = Page(html)
    assert page.classes.count("scroll") == len(page.tables)  # every table scrolls in its wrapper


def test_diff_html():
    run_a = {"name": "first", "created": "2026-11-01T10:00:00Z", "kb_version": "k"}
    run_b = {"name": "second", "created": CREATED, "kb_version": "k"}
    moves = [{"domain": "a.test", "function": "email.inbound", "before": "OVHcloud E-mail",
              "after": "Exchange Online", "foreign_before": False, "foreign_after": True}]
    names = {"functions": {"email.inbound": {"en": "Inbound e-mail", "fr": "Courriel entrant"}}}
    page = Page(diff_html(run_a, run_b, moves, "fr", names))
    assert page.tables[0][1] == ["a.test", "Courriel entrant", "OVHcloud E-mail", "Exchange Online"]
    assert "1er novembre 2026" in page.words and "<script" not in diff_html(run_a, run_b, moves, "fr", names)
    empty = Page(diff_html(run_a, run_b, [], "en"))
    assert not empty.tables and "No domain changed provider" in empty.words


# -- end to end: the loopback test world through the CLI ---------------------------------------------

SURVEYED = ["m365pp.test", "gworkspace.test", "selfovh.test", "infomaniak.test", "awsmail.test", "ovhmail.test"]


@pytest.fixture(scope="module")
def world_reports(world_dns, tmp_path_factory):
    folder = tmp_path_factory.mktemp("survey-html")
    db = f"sqlite:///{folder / 'survey.db'}"
    population = folder / "communes.csv"
    regions = ["11", "53", "84"]
    population.write_text("domain,region\n" + "".join(f"{d},{regions[i % 3]}\n" for i, d in enumerate(SURVEYED)))
    runner = CliRunner()
    for name in ("first", "second"):
        run = runner.invoke(cli, ["survey", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}",
                                  "--timeout", "0.5", "--db", db, "--quiet", "--workers", "1", "--name", name])
        assert run.exit_code == 0, run.output
    out = {}
    for lang in ("en", "fr"):
        html = folder / f"report-{lang}.html"
        done = runner.invoke(cli, ["survey", "report", "first", "--group-by", "region", "--db", db, "--lang", lang,
                                   "-o", str(html)])
        assert done.exit_code == 0, done.output
        out[lang] = html
    report = runner.invoke(cli, ["survey", "report", "first", "--group-by", "region", "--db", db, "--format", "json"])
    out["json"] = json.loads(report.stdout)
    diff = runner.invoke(cli, ["survey", "diff", "first", "second", "--db", db, "--format", "html", "--lang", "fr"])
    assert diff.exit_code == 0, diff.output
    out["diff"] = diff.stdout
    return out


def test_world_report_lists_the_kb_records_behind_its_providers(world_reports):
    data = world_reports["json"]
    sources = data["sources"]
    assert sources["input"] == "communes.csv" and sources["kb_date"] == data["run"]["kb_version"].split("+")[0]
    assert sources["ip_table"] and all(s["date"] for s in sources["ip_table"])
    shown = {name for entry in data["aggregate"]["functions"].values() for name, _ in entry["providers"]}
    named = {r["name"] for r in sources["records"] if r["kind"] == "services"}
    assert shown <= named, shown - named  # every provider shown has its record listed
    assert any(r["kind"] == "laws" for r in sources["records"])  # and the laws counted
    mail = data["aggregate"]["functions"]["mail"]
    assert dict(mail["law_countries"]).get("US", 0) >= 1 and mail["laws"]
    assert sum(dict(mail["law_countries"]).values()) >= mail["foreign"]  # each reached domain counted
    page = Page(world_reports["en"].read_text(encoding="utf-8"))
    urls = [url for url, _ in page.links]
    record_urls = [s["url"] for r in sources["records"] for s in r["sources"]]
    assert record_urls and set(record_urls) <= set(urls)
    assert "53 Brittany" in page.words and "53 Bretagne" in Page(world_reports["fr"].read_text(encoding="utf-8")).words


def test_world_diff_html(world_reports):
    page = Page(world_reports["diff"])
    assert page.title.startswith("souverain · first → second")
    # the same world twice: no move, unless a DNS answer timed out under load in one run
    if page.tables:
        assert all(not cells[1].startswith(("email.", "dns.", "web.")) for cells in page.tables[0][1:])
    else:
        assert "Aucun domaine n'a changé de fournisseur" in page.words


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not installed at {CHROMIUM}")
def test_world_report_fits_a_phone_screen(world_reports):
    """At 390 px the page does not scroll sideways: wide tables scroll inside their wrapper."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for lang in ("en", "fr"):
                for width in (390, 1280):
                    page = browser.new_page(viewport={"width": width, "height": 800})
                    page.goto(world_reports[lang].as_uri())
                    assert page.evaluate("document.documentElement.scrollWidth") <= width, (lang, width)
                    assert page.evaluate("document.body.scrollWidth") <= width, (lang, width)
                    page.close()
        finally:
            browser.close()
