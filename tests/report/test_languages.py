"""Every command and format of the test world, rendered in French and in English: no missing
message, no text of the other language's catalogue, no raw id or enum token where people read.

Data-driven: ``COMMANDS`` lists what is run (name, arguments, kind of output); add a command or
a format there and every check applies to it. ``FORBIDDEN_TOKENS`` lists the raw values that must
never reach a human-readable output (machine formats, JSON/CSV/SARIF, keep them; so do the
evidence and re-check parts, which show what was observed).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.report.i18n import LANGUAGES, MESSAGES
from souverain.testing.httpserver import TestCA, WebServer
from tests.scan.conftest import WORLD

SCAN_DOMAINS = ["m365pp.test", "selfovh.test", "web.test"]
SURVEY_INPUT = "domain,region\nm365pp.test,11\nselfovh.test,84\ngworkspace.test,11\novhmail.test,24\n"

# name -> (arguments after `souverain`, kind): kind "text" (terminal) or "html" is read by people
# and checked; "ids" is text whose purpose is to list ids (only its language is checked); "quoted"
# holds the sources' titles and the KB's notes as written, in English (only ids are checked); "data"
# (json, csv, sarif) only has to render in both languages. {scan} stands for
# the scan options that reach the loopback world, {db} for the database.
INVENTORY = Path(__file__).resolve().parents[1] / "data" / "inventory"
COMMANDS: dict[str, tuple[list[str], str]] = {
    "scan-table": (["scan", *SCAN_DOMAINS, "{scan}", "--wide"], "text"),
    "scan-html": (["scan", *SCAN_DOMAINS, "{scan}", "--format", "html"], "html"),
    "scan-csv": (["scan", *SCAN_DOMAINS, "{scan}", "--format", "csv"], "data"),
    "scan-json": (["scan", *SCAN_DOMAINS, "{scan}", "--format", "json"], "data"),
    "scan-sarif": (["scan", *SCAN_DOMAINS, "{scan}", "--format", "sarif"], "data"),
    "who-entity": (["who", "microsoft", "--wide"], "text"),
    "who-host": (["who", "contoso-com.mail.protection.outlook.com", "--wide"], "text"),
    "who-sources": (["who", "contoso-com.mail.protection.outlook.com", "--wide", "--sources"], "quoted"),
    "who-offer": (["who", "aws-european-sovereign-cloud", "--wide"], "text"),
    "history": (["history", "selfovh.test", "--db", "{db}"], "text"),
    "assess": (["assess", "ovhcloud-secnumcloud", "--wide"], "text"),
    "assess-html": (["assess", "aws-esc", "--format", "html"], "html"),
    "compare": (["compare", "aws-esc", "ovhcloud-secnumcloud", "bleu-cloud", "--min-seal", "SOV-2=3", "--wide"],
                "text"),
    "compare-html": (["compare", "aws-esc", "ovhcloud-secnumcloud", "--format", "html"], "html"),
    "survey-report": (["survey", "report", "first", "--group-by", "region", "--db", "{db}", "--wide"], "text"),
    "survey-report-html": (["survey", "report", "first", "--group-by", "region", "--db", "{db}", "--format",
                            "html"], "html"),
    "survey-diff": (["survey", "diff", "first", "second", "--db", "{db}"], "text"),
    "survey-diff-csv": (["survey", "diff", "first", "second", "--db", "{db}", "--format", "csv"], "data"),
    "survey-diff-html": (["survey", "diff", "first", "second", "--db", "{db}", "--format", "html"], "html"),
    "survey-list": (["survey", "list", "--db", "{db}"], "text"),
    "kb-stats": (["kb", "stats"], "text"),
    "kb-list": (["kb", "list", "--kind", "laws"], "ids"),  # a list of ids, to pass to `kb show`
    "kb-validate": (["kb", "validate"], "text"),
    "inventory": (["inventory", str(INVENTORY / "terraform-plan.json"), str(INVENTORY / "saas.csv"), "--wide"], "text"),
    "inventory-html": (["inventory", str(INVENTORY / "terraform-plan.json"), "--format", "html"], "html"),
}


def _catalogue(lang: str) -> dict[str, str]:
    return yaml.safe_load((MESSAGES / f"{lang}.yaml").read_text(encoding="utf-8"))


def _forbidden_tokens() -> set[str]:
    kb = load_kb()
    tokens = set(kb.laws)  # us-cloud-act, ...
    tokens |= {fid for fid in kb.functions if "." in fid}  # email.inbound, ... (not "identity")
    # enum values with a hyphen: nothing but a raw value is written that way
    for key in _catalogue("en"):
        prefix, _, value = key.partition(".")
        if prefix in ("effect", "law_status", "status", "state", "verdict_name", "answer_source", "technology",
                      "test_status", "category", "alt_category") and "-" in value:
            tokens.add(value)
    return tokens


FORBIDDEN_TOKENS = _forbidden_tokens()
# an English display name identical to its token ("self-managed") is not a leak in English
SAME_IN_ENGLISH = {value for key, value in _catalogue("en").items() if key.endswith(f".{value}")}
# single-word enum values, checked in French output only (they are English words)
ENGLISH_TOKENS = {"high", "medium", "low", "verified", "inferred", "seat", "presence", "identified", "unknown",
                  "exposed", "passed", "failed", "complete", "partial", "interrupted", "running"}


def _fragments(text: str) -> list[str]:
    """The literal parts of a message template that are long enough to identify it."""
    parts = re.split(r"\{[^}]*\}", text)
    out = []
    for part in parts:
        part = part.strip(" .,:;()«»\"'-—/")
        if len(part) >= 10 and len(part.split()) >= 2:
            out.append(part)
    return out


def _foreign_fragments(lang: str) -> set[str]:
    """Fragments of the other catalogues' messages that this language's catalogue never uses."""
    own = _catalogue(lang)
    own_text = "\n".join(own.values())
    found = set()
    for other in LANGUAGES:
        if other == lang:
            continue
        for key, text in _catalogue(other).items():
            if text == own.get(key):
                continue
            found |= {f for f in _fragments(text) if f not in own_text}
    return found


# KB evidence quoted as written, in English (assessors' rationales, offers' claims, typed evidence):
# an element marked lang="en" in HTML, « ... » (en anglais) in French text
QUOTED_HTML = re.compile(r'<(q|span|blockquote)\b[^>]* lang="en"[^>]*>.*?</\1>( \(en anglais\))?', re.DOTALL)
QUOTED_TEXT = re.compile(r"«[^»]*» \(en anglais\)", re.DOTALL)


def readable(output: str, kind: str) -> str:
    """What a person reads, less the quoted evidence: HTML without tags, styles, the evidence blocks
    and cited titles (sources' titles, quoted as written)."""
    if kind == "html":
        output = re.sub(r'<details class="evidence">.*?</details>', " ", output, flags=re.DOTALL)
        output = re.sub(r"<cite>.*?</cite>", " ", output, flags=re.DOTALL)
        output = re.sub(r"<style>.*?</style>", " ", output, flags=re.DOTALL)
        output = html.unescape(re.sub(r"<[^>]+>", " ", QUOTED_HTML.sub(" ", output)))
    return QUOTED_TEXT.sub(" ", output)


def _kb_names() -> list[str]:
    """Names of KB records (proper names such as "Bleu cloud de confiance (Microsoft Azure and
    Microsoft 365 operated by Bleu)"), longest first: shown as they are in every language."""
    return sorted({r.name for r in load_kb().records.values() if len(r.name) >= 10}, key=len, reverse=True)


def without_kb_names(text: str) -> str:
    for name in _kb_names():
        if name in text:
            text = text.replace(name, " ")
    return text


@pytest.fixture(scope="module")
def world(world_dns, tmp_path_factory):
    """The substitutions for COMMANDS, with two stored scans and two survey runs in a database."""
    folder = tmp_path_factory.mktemp("languages")
    db = f"sqlite:///{folder / 'world.db'}"
    ca = TestCA()
    server = WebServer(WORLD / "sites", ca).start()
    scan = ["--nameserver", f"127.0.0.1:{world_dns.port}", "--timeout", "2", "--at", "2026-11-28", "--ca-file",
            str(ca.ca_file), *(f"--connect-to={rule}" for rule in server.connect_to()), "--no-store", "--quiet"]
    runner = CliRunner()
    for _ in range(2):
        stored = runner.invoke(cli, ["scan", "selfovh.test", "--nameserver", f"127.0.0.1:{world_dns.port}",
                                     "--functions", "mail,dns", "--no-web-fetch", "--db", db, "--quiet"])
        assert stored.exit_code == 0, stored.output
    population = folder / "pop.csv"
    population.write_text(SURVEY_INPUT, encoding="utf-8")
    for name in ("first", "second"):
        run = runner.invoke(cli, ["survey", str(population), "--nameserver", f"127.0.0.1:{world_dns.port}",
                                  "--timeout", "0.5", "--db", db, "--quiet", "--workers", "1", "--name", name])
        assert run.exit_code == 0, run.output
    yield {"{scan}": scan, "{db}": [db]}
    server.stop()
    ca.cleanup()


@pytest.fixture(scope="module")
def outputs(world):
    """(command, lang) -> (output, kind), every command run once per language."""
    runner = CliRunner()
    found = {}
    for name, (args, kind) in COMMANDS.items():
        argv = [part for arg in args for part in world.get(arg, [arg])]
        for lang in LANGUAGES:
            result = runner.invoke(cli, [*argv, "--lang", lang], env={"COLUMNS": "200"})
            # 3: a --min-seal gate not met (compare), still a complete report
            assert result.exit_code in (0, 3), (name, lang, result.output)
            found[name, lang] = (result.stdout, kind)
    return found


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_text_of_the_other_language(outputs, name, lang):
    output, kind = outputs[name, lang]
    if kind in ("data", "quoted"):
        return
    text = " ".join(without_kb_names(readable(output, kind)).split())  # folded cells and line breaks joined
    leaked = sorted(f for f in _foreign_fragments(lang) if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text))
    assert not leaked, f"{name} --lang {lang} shows the other language's messages: {leaked}"


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_raw_ids_or_enum_tokens(outputs, name, lang):
    output, kind = outputs[name, lang]
    if kind in ("data", "ids"):
        return
    text = readable(output, kind)
    tokens = FORBIDDEN_TOKENS - SAME_IN_ENGLISH if lang == "en" else FORBIDDEN_TOKENS
    shown = sorted(t for t in tokens if re.search(rf"(?<![\w.-]){re.escape(t)}(?![\w-])", text))
    assert not shown, f"{name} --lang {lang} shows raw ids or enum values: {shown}"
    if lang == "fr":  # KB names are proper names ("... (partial CNAME setup)"): not checked
        text = without_kb_names(text)
        english = sorted(w for w in ENGLISH_TOKENS if re.search(rf"(?<![\w.-]){w}(?![\w-])", text))
        assert not english, f"{name} --lang fr shows English enum values: {english}"
        chain_terms = re.findall(r"\d % votes|board majority|[(, ]control\)", text)  # ChainLink.describe_edge
        assert not chain_terms, f"{name} --lang fr shows English ownership terms: {chain_terms}"


def test_every_command_is_covered():
    """Each command of the CLI appears in COMMANDS (a new command must be added there)."""
    covered = {tuple(a for a in args[:2] if not a.startswith(("-", "{")) and "." not in a)
               for args, _ in COMMANDS.values()}
    # schema prints a JSON Schema only; serve is a server (its pages are tested in tests/web); users
    # writes a users file and one confirmation line (tests/web/test_users.py)
    top = {name for name in cli.commands if name not in ("schema", "serve", "users")}
    assert top <= {c[0] for c in covered}, top - {c[0] for c in covered}


def test_the_catalogues_hold_no_python_reprs(outputs):
    for (name, lang), (output, kind) in outputs.items():
        assert not re.search(r"\{'[^']*': ", output), (name, lang)  # a dict written with str()


def test_survey_groups_show_area_names(outputs):
    """Region codes of a French survey get their names (11 -> Île-de-France), in every format read."""
    for name in ("survey-report", "survey-report-html"):
        for lang in LANGUAGES:
            text = readable(*outputs[name, lang])
            assert "11 Île-de-France" in text and "84 Auvergne-Rhône-Alpes" in text, (name, lang)


def test_country_and_law_names_follow_the_language(outputs):
    fr, _ = outputs["who-entity", "fr"]
    en, _ = outputs["who-entity", "en"]
    assert "États-Unis" in fr and "impose l'accès" in fr and "en vigueur" in fr
    assert "United States" in en and "compels access" in en and "in force" in en


def _framework_texts() -> dict[str, set[str]]:
    """The CSF framework's objective and criterion names and answer labels, per language (those
    long enough to identify a text and that differ between the languages)."""
    csf = load_kb().frameworks["eu-csf"]
    pairs = [(o.name, o.name_fr) for o in csf.objectives]
    for objective in csf.objectives:
        for criterion in objective.criteria:
            pairs.append((criterion.name, criterion.name_fr))
            pairs += [(option.label, option.label_fr) for option in criterion.options]
    pairs = [(en, fr) for en, fr in pairs if fr and en != fr and len(en) >= 12 and " " in en]
    return {"en": {en for en, _ in pairs}, "fr": {fr for _, fr in pairs}}


@pytest.mark.parametrize("name", ["assess", "assess-html", "compare", "compare-html"])
def test_framework_texts_follow_the_language(outputs, name):
    """Criteria, answers and objectives read in the report's language (KB translation beside the
    English), not only the sentences of the catalogues."""
    texts = _framework_texts()
    for lang, other in (("fr", "en"), ("en", "fr")):
        text = " ".join(readable(*outputs[name, lang]).split())
        assert any(t in text for t in texts[lang]), (name, lang)
        shown = sorted(t for t in texts[other] if re.search(rf"(?<![\w'-]){re.escape(t)}(?![\w-])", text))
        assert not shown, f"{name} --lang {lang} shows framework texts of the other language: {shown[:5]}"


def test_quoted_evidence_is_marked_in_french(outputs):
    """Assessors' rationales and offers' claims stay as written in the KB (English), marked so."""
    html_fr, _ = outputs["assess-html", "fr"]
    html_en, _ = outputs["assess-html", "en"]
    rationale = next(c.rationale for c in load_kb().assessments["aws-esc"].answers.values() if c.rationale)
    assert f'<q lang="en" class="quoted">{rationale}</q> (en anglais)' in html.unescape(html_fr)
    assert f'<q lang="en" class="quoted">{rationale}</q>' in html.unescape(html_en)
    assert "(en anglais)" not in html_en
    text_fr, _ = outputs["assess", "fr"]
    assert "» (en anglais)" in text_fr and "(en anglais)" not in outputs["assess", "en"][0]
