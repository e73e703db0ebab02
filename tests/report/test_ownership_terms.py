"""The terms ``ChainLink.describe_edge`` writes into ownership chains and law paths (English data in
JSON) are worded in the report's language."""

from __future__ import annotations

import json

from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.report.i18n import Translator

CHAIN = "Cloud SAS <- Holding SE (FR, 30 %, 51 % votes, board majority) <- Family (FR, control)"


def test_french_words_the_chain_terms_and_english_keeps_them():
    assert Translator("fr").path(CHAIN) == ("Cloud SAS <- Holding SE (FR, 30 %, 51 % des droits de vote, majorité au "
                                            "conseil) <- Family (FR, contrôle)")
    assert Translator("en").path(CHAIN) == CHAIN
    assert Translator("fr").path("control") == "contrôle"  # a link's holding on its own
    assert Translator("fr").path(None) is None
    # names that merely contain the words are left alone
    assert Translator("fr").path("Mission Control Ltd (US, 100 %)") == "Mission Control Ltd (US, 100 %)"


def test_who_in_french_shows_no_english_chain_terms():
    runner = CliRunner()
    data = json.loads(runner.invoke(cli, ["who", "3ds-outscale", "--format", "json"]).output)
    assert "control)" in json.dumps(data)  # the data (JSON) keeps the English terms
    for fmt in ("table",):
        french = runner.invoke(cli, ["who", "3ds-outscale", "--lang", "fr", "--format", fmt, "--wide"]).output
        assert "(FR, contrôle)" in french and "control)" not in french
