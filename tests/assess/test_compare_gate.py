"""`souverain compare --min-seal`: the same gate as `assess`, applied to every compared offer."""

from __future__ import annotations

import json

from click.testing import CliRunner

from souverain.cli.main import cli

OFFERS = ["aws-esc", "s3ns-premi3ns", "ovhcloud-public-cloud-offer"]


def compare(*args: str):
    return CliRunner().invoke(cli, ["compare", *OFFERS, *args])


def test_compare_exits_3_naming_the_offers_below_the_gate():
    # SOV-8 (technology) is SEAL-2 for the OVHcloud offer only (see test_real_offers)
    result = compare("--min-seal", "SOV-8=2")
    assert result.exit_code == 3, result.output
    failing = result.stderr.splitlines()
    assert len(failing) == 2, result.stderr
    assert failing[0].startswith("AWS European Sovereign Cloud: minimum SEAL SOV-8=2 NOT met on the evidenced floor "
                                  "(objectives below: SOV-8)")
    assert failing[1].startswith("S3NS PREMI3NS")
    assert "OVHcloud" not in result.stderr and "SOV-1" in result.stdout  # the table is still there


def test_compare_gate_in_every_format_and_language():
    data = compare("--min-seal", "2", "--format", "json")
    assert data.exit_code == 3
    assert [o["csf"]["gate"]["passed"] for o in json.loads(data.stdout)["offers"]] == [False, False, False]
    assert compare("--min-seal", "2", "--format", "html").exit_code == 3
    fr = compare("--min-seal", "2", "--lang", "fr")
    assert fr.exit_code == 3 and "SEAL minimal 2 NON atteint" in fr.stderr


def test_compare_passes_the_gate_or_has_none():
    assert compare("--min-seal", "0").exit_code == 0
    plain = compare()
    assert plain.exit_code == 0 and not plain.stderr
