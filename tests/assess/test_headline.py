"""The headline: an estimate (every answer but unknown, assessor judgements counted and flagged) and
an evidenced floor (unknown and assessor answers at the worst option), the gate on either, and the
scope printed next to the result in every format."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from souverain.assess.offer import assess_offer
from souverain.cli.main import cli
from souverain.report.assessment import assessment_html, assessment_table, comparison_table
from tests.assess.test_csf_engine import AT, kb, offer  # noqa: F401 (kb is a fixture)
from tests.conftest import SOURCE

JUDGED = {
    "SOV-3.1": {"option": "good", "kind": "documented", "sources": SOURCE},
    "SOV-4.1": {"option": "good", "kind": "assessor", "rationale": "whole class of offers", "sources": SOURCE},
    "SOV-5.1": {"option": None, "searched": ["supply-chain page", "DPA"]},
}


def test_estimate_leaves_unknown_out_and_floor_puts_judgement_at_worst(kb):  # noqa: F811
    csf = assess_offer(kb, offer("frco", JUDGED), AT, "csf-2026").csf
    assert csf.assessor == ("SOV-4.1",)
    assert set(csf.unknown) == {"SOV-5.1", "SOV-6.1", "SOV-7.1", "SOV-8.1"}
    # estimate: SOV-1..4 answered, all at SEAL-4; SOV-5..8 left out and their weights rescaled
    assert csf.estimate.seal == 4 and csf.estimate.score_pct == 100
    assert csf.estimate.seal_by_objective["SOV-5"] is None
    assert (csf.estimate.counted, csf.estimate.at_worst) == (6, 4)  # 10 criteria, 4 derived
    # floor: SOV-4.1 (assessor) and the four unknown criteria at the worst option (0 points, SEAL-0)
    assert csf.floor.seal == 0 and csf.floor.seal_by_objective["SOV-4"] == 0
    assert csf.floor.score_pct == pytest.approx(1000.4 / 1000 * 20 + 1000.4 / 1000 * 10 + 1000.2 / 1000 * 10, abs=0.01)
    assert (csf.floor.counted, csf.floor.at_worst) == (5, 5)
    sov4 = next(o for o in csf.objectives if o.id == "SOV-4")
    assert (sov4.seal_estimate, sov4.seal_floor, sov4.assessor) == (4, 0, 1)


def test_a_documented_answer_lifts_the_floor_where_a_judgement_does_not(kb):  # noqa: F811
    judged = assess_offer(kb, offer("frco", JUDGED), AT, "csf-2026").csf
    documented = dict(JUDGED, **{"SOV-4.1": {"option": "good", "kind": "documented", "sources": SOURCE}})
    evidenced = assess_offer(kb, offer("frco", documented), AT, "csf-2026").csf
    assert evidenced.estimate == judged.estimate
    assert evidenced.floor.score_pct > judged.floor.score_pct
    assert evidenced.assessor == ()


def test_document_profile_estimate_rescales_the_weights(kb):  # noqa: F811
    answers = {"SOV-3.1": {"option": "mid", "kind": "documented", "sources": SOURCE}}
    csf = assess_offer(kb, offer("frco", answers), AT, "csf-2025").csf
    # SOV-1 (15) and SOV-2 (10) at SEAL-4, SOV-3 (10) at SEAL-2; the other objectives have no answer
    assert csf.estimate.seal == 2
    assert csf.estimate.score_pct == pytest.approx((15 + 10 + 10 * 2 / 4) * 100 / 35, abs=0.01)
    assert csf.floor.score_pct == pytest.approx(15 + 10 + 10 * 2 / 4)


def test_gate_on_the_floor_by_default_and_on_the_estimate_on_request(kb):  # noqa: F811
    floor = assess_offer(kb, offer("frco", JUDGED), AT, "csf-2026", 2).csf.gate
    assert floor.basis == "floor" and floor.passed is False and "SOV-4" in floor.failing
    estimate = assess_offer(kb, offer("frco", JUDGED), AT, "csf-2026", 2, "estimate").csf.gate
    assert estimate.basis == "estimate" and estimate.passed is True


def test_cli_gate_option_and_both_figures_in_every_format(tmp_path):
    runner = CliRunner()
    path = tmp_path / "offer.yaml"
    template = runner.invoke(cli, ["assess", "--template"]).stdout
    path.write_text(template.replace("# scope: EU regions only", "scope: EU regions only (FR, DE)", 1))
    table = runner.invoke(cli, ["assess", "--answers", str(path), "--wide"])
    assert table.exit_code == 0, table.output
    # only the four derived answers are known: the estimate rests on them, and says how many are left out
    assert "estimate SEAL-4, score 100.0 % (0 assessor judgements counted, 44 unknown answers left out); " \
           "evidenced floor SEAL-0" in table.stdout
    assert "Scope of this assessment: EU regions only (FR, DE)." in table.stdout
    data = json.loads(runner.invoke(cli, ["assess", "--answers", str(path), "--format", "json"]).stdout)
    assert data["schema_version"] == "2" and data["offer"]["scope"] == "EU regions only (FR, DE)"
    assert set(data["csf"]) >= {"estimate", "floor", "assessor"} and "seal" not in data["csf"]
    html = runner.invoke(cli, ["assess", "--answers", str(path), "--format", "html", "--lang", "fr"]).stdout
    assert "Périmètre de cette évaluation : « EU regions only (FR, DE) » (en anglais)." in html and "Plancher étayé" in html
    gated = runner.invoke(cli, ["compare", "aws-esc", "--min-seal", "1", "--gate", "estimate"])
    assert gated.exit_code == 0, gated.output
    floor = runner.invoke(cli, ["compare", "aws-esc", "--min-seal", "1"])
    assert floor.exit_code == 3 and "on the evidenced floor" in floor.stderr
    bad = runner.invoke(cli, ["assess", "aws-esc", "--gate", "median"])
    assert bad.exit_code == 2


def test_scope_in_the_comparison_and_terminal(kb):  # noqa: F811
    scoped = offer("frco", JUDGED).model_copy(update={"scope": "Paris region only"})
    results = [assess_offer(kb, scoped, AT, "csf-2026"), assess_offer(kb, offer("eusub"), AT, "csf-2026")]
    compared = comparison_table(results, "en")
    assert "Paris region only" in compared and "Estimate" in compared and "Evidenced floor" in compared
    assert "Scope of this assessment: Paris region only." in assessment_table(results[0], "en")
    assert "Paris region only" in assessment_html(results, "en")


def test_a_claim_above_a_judgement_is_unsupported_not_contradicted(kb):  # noqa: F811
    claims = [{"text": "Fully portable", "criterion": "SOV-4.1", "option": "good", "sources": SOURCE}]
    judged = {"SOV-4.1": {"option": "mid", "kind": "assessor", "rationale": "export documented only in part",
                          "sources": SOURCE}}
    csf = assess_offer(kb, offer("frco", judged, claims), AT, "csf-2026").csf
    assert [c.id for c in csf.unsupported_claims] == ["SOV-4.1"] and csf.contradictions == ()
    documented = {"SOV-4.1": {"option": "mid", "kind": "documented", "sources": SOURCE}}
    csf = assess_offer(kb, offer("frco", documented, claims), AT, "csf-2026").csf
    assert [c.id for c in csf.contradictions] == ["SOV-4.1"] and csf.unsupported_claims == ()
