"""``souverain schema scan|assess|survey-row``: the JSON Schema of an output, from its model."""

from __future__ import annotations

from pathlib import Path

import click

from souverain.cli.options import emit, handle_errors, output_option, to_json

OUTPUTS = ("scan", "assess", "survey-row")


@click.command("schema")
@click.argument("output_name", metavar="scan|assess|survey-row", type=click.Choice(OUTPUTS))
@output_option
@handle_errors
def schema_command(output_name: str, output: Path | None) -> None:
    """Print the JSON Schema (2020-12) of an output: `scan --format json`, `assess --format json`,
    or one line of a survey's JSONL export."""
    from souverain.model.schema import json_schema
    from souverain.version import OUTPUT_SCHEMA_VERSION

    schema = json_schema(output_name)
    dialect = schema.pop("$schema")
    comment = f"souverain output schema {OUTPUT_SCHEMA_VERSION}"
    emit(to_json({"$schema": dialect, "$comment": comment, **schema}), output)
