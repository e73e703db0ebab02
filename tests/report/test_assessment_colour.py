"""The assessment report's colour follows exposure (foreign laws, §19.6), not the SEAL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli


@pytest.mark.parametrize(("offer", "colour"), [
    ("aws-esc", "v-exposed"),                           # US control: the CLOUD Act reaches it
    ("ovhcloud-secnumcloud", "v-partly-exposed"),       # no foreign law, but §19.6 c) undetermined (VMware)
    ("ovhcloud-public-cloud-offer", "v-not-exposed"),   # no foreign law, §19.6 passes
])
def test_verdict_colour(offer, colour):
    result = CliRunner().invoke(cli, ["assess", offer, "--format", "html", "--at", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert f'class="verdict {colour}"' in result.output
