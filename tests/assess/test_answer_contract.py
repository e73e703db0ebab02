"""The CSF answer contract: kinds, confidence, rationale for assessor answers, `searched` for unknown
ones, sources for the others, and `path:line: field: problem` messages for answers files."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from souverain.assess.answers import check_references
from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.schema import Answer

SOURCE = [{"url": "https://example.org/dpa.pdf", "title": "Data processing agreement", "retrieved": "2026-11-28"}]
HEADER = """id: tender
name: Tender offer
framework: eu-csf
category: iaas
provider_entity: {name: Example Cloud SAS, country: FR}
sources: [{url: "https://example.org/t.pdf", title: Tender response, retrieved: 2026-11-28}]
as_of: 2026-11-28
answers:
"""


def answers_file(tmp_path, body: str):
    path = tmp_path / "answers.yaml"
    path.write_text(HEADER + body)
    return path, CliRunner().invoke(cli, ["assess", "--answers", str(path)])


def test_legacy_kinds_read_as_documented():
    assert Answer(option="good", kind="audited", sources=SOURCE).kind == "documented"
    assert Answer(option="good", kind="regulator-listed", sources=SOURCE).kind == "documented"
    assert Answer(option="good", sources=SOURCE).confidence == "medium"


@pytest.mark.parametrize(("answer", "problem"), [
    ({"option": "good", "kind": "assessor", "sources": SOURCE}, "an assessor answer needs a rationale"),
    ({"option": None}, r"an unknown answer \(no option\) needs searched"),
    ({"option": "good", "kind": "documented"}, "a documented answer needs at least one source"),
    ({"option": "good", "confidence": "certain", "sources": SOURCE}, "confidence"),
])
def test_incomplete_answers_are_refused(answer, problem):
    with pytest.raises(ValidationError, match=problem):
        Answer.model_validate(answer)


def test_complete_answers_of_every_kind():
    Answer(option="good", kind="assessor", rationale="whole stack is proprietary US software", sources=SOURCE)
    Answer(option=None, searched=["provider trust centre", "DPA 2025"])
    Answer(option="good", kind="derived")  # computed from the graph: no source of its own


def test_answers_file_messages_point_at_the_line(tmp_path):
    path, result = answers_file(tmp_path, "  SOV-3.1:\n    option: customer-primary\n    kind: assessor\n"
                                          "    sources: [{url: 'https://example.org/a', title: A page, retrieved: 2026-11-28}]\n")
    assert result.exit_code == 2
    assert f"{path}:9: answers.SOV-3.1: an assessor answer needs a rationale" in result.output
    path, result = answers_file(tmp_path, "  SOV-8.1:\n    option: null\n")
    assert result.exit_code == 2 and f"{path}:9: answers.SOV-8.1: an unknown answer" in result.output


def test_unknown_option_and_derived_kind_on_a_typed_criterion(tmp_path):
    source = "    sources: [{url: 'https://example.org/a', title: A page, retrieved: 2026-11-28}]\n"
    path, result = answers_file(tmp_path, "  SOV-3.1:\n    option: no-such-option\n" + source)
    assert result.exit_code == 2
    assert f"{path}:10: answers.SOV-3.1.option: unknown option 'no-such-option'; choose one of" in result.output
    path, result = answers_file(tmp_path, "  SOV-3.1:\n    option: customer-primary\n    kind: derived\n")
    assert result.exit_code == 2
    assert f"{path}:11: answers.SOV-3.1.kind: SOV-3.1 is not computed from the knowledge base" in result.output


def test_unknown_answer_keeps_what_was_searched(tmp_path):
    path, _ = answers_file(tmp_path, "  SOV-8.1:\n    option: null\n    searched: [sustainability report 2025]\n")
    result = CliRunner().invoke(cli, ["assess", "--answers", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    criterion = next(c for c in json.loads(result.stdout)["csf"]["criteria"] if c["id"] == "SOV-8.1")
    assert criterion["source"] == "unknown" and criterion["searched"] == ["sustainability report 2025"]


def test_bundled_assessments_pass_the_answers_file_checks():
    kb = load_kb()
    problems = [str(p) for rid, kind in kb.kinds.items() if kind == "assessments"
                for p in check_references(kb.records[rid], kb, f"assessments/{rid}.yaml", {})]
    assert problems == []
