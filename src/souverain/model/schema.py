"""JSON Schema of the outputs, generated from the models (``souverain schema NAME``)."""

from __future__ import annotations

from typing import Any

from souverain.model.assessment import Assessment
from souverain.model.scan import ScanResult
from souverain.model.survey import SurveyRow

MODELS: dict[str, type] = {"scan": ScanResult, "assess": Assessment, "survey-row": SurveyRow}
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of output ``name`` (one of ``MODELS``), in the 2020-12 dialect."""
    from pydantic import TypeAdapter

    schema: dict[str, Any] = TypeAdapter(MODELS[name]).json_schema(mode="serialization")
    return {"$schema": DIALECT, **schema}
