"""The CSF framework's texts have their French beside them (``*_fr``), and `kb validate --strict`
fails on one that has none."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.kb.base import load_kb
from souverain.kb.translations import untranslated

DATA = Path(__file__).resolve().parents[2] / "src" / "souverain" / "kb" / "data"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_every_framework_text_has_its_french(kb):
    assert untranslated(kb) == []
    csf = kb.frameworks["eu-csf"]
    criteria = [c for o in csf.objectives for c in o.criteria]
    assert len(criteria) == 48 and all(c.name_fr and c.question_fr for c in criteria)
    assert all(o.label_fr and o.label_fr != o.label for c in criteria for o in c.options if not o.label.startswith("EAL"))
    assert csf.objectives[0].name_fr == "Souveraineté stratégique"


def test_a_missing_translation_is_a_strict_problem_with_its_field(kb):
    data = kb.frameworks["eu-csf"].model_dump()
    data["objectives"][1]["criteria"][2]["options"][0]["label_fr"] = None
    data["objectives"][0]["criteria"][0]["name_fr"] = None
    csf = type(kb.frameworks["eu-csf"]).model_validate(data)
    view = copy.copy(kb)
    view.frameworks = {**kb.frameworks, "eu-csf": csf}
    problems = untranslated(view)
    assert [p.field for p in problems] == ["objectives[0].criteria[0].name_fr",
                                           "objectives[1].criteria[2].options[0].label_fr"]
    assert all(p.path.endswith("frameworks/eu-csf.yaml") and p.line > 1 for p in problems)
    assert "no French text beside 'label'" in problems[1].message


def test_strict_validate_fails_on_a_missing_translation(tmp_path):
    folder = tmp_path / "kb"
    shutil.copytree(DATA, folder)
    path = folder / "frameworks" / "eu-csf.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('        name_fr: "Risque de changement de contrôle"\n', "", 1), encoding="utf-8")
    assert CliRunner().invoke(cli, ["kb", "validate", "--path", str(folder)]).exit_code == 0
    result = CliRunner().invoke(cli, ["kb", "validate", "--strict", "--path", str(folder)])
    assert result.exit_code == 2
    assert "eu-csf.yaml:" in result.stdout and "objectives[0].criteria[1].name_fr: no French text beside 'name'" \
        in result.stdout
