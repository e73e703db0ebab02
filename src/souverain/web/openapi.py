"""The OpenAPI 3.1 document of /api/v1, its bodies generated from the models' JSON Schemas (the
same as `souverain schema`)."""

from __future__ import annotations

import functools
import json
from typing import Any

from souverain.version import CODE_VERSION

MODELS = {"ScanResult": "scan", "Assessment": "assess"}


def _components() -> dict[str, Any]:
    from souverain.model.schema import json_schema

    schemas: dict[str, Any] = {}
    for title, name in MODELS.items():
        schema = json_schema(name)
        schema.pop("$schema", None)
        for key, value in schema.pop("$defs", {}).items():
            if key in schemas and schemas[key] != value:
                raise ValueError(f"two models define {key} differently")  # caught by the test
            schemas[key] = value
        schemas[title] = schema
    text = json.dumps(schemas).replace('"#/$defs/', '"#/components/schemas/')
    components: dict[str, Any] = json.loads(text)
    components["Problem"] = {
        "type": "object", "description": "RFC 9457 problem details",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                       "detail": {"type": "string"}, "instance": {"type": "string"}},
        "required": ["type", "title", "status"],
    }
    components["ScanJob"] = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "failed"]},
                       "created": {"type": "string"}, "started": {"type": ["string", "null"]},
                       "finished": {"type": ["string", "null"]}, "done": {"type": "integer"},
                       "total": {"type": "integer"}, "domains": {"type": "array", "items": {"type": "string"}},
                       "functions": {"type": "array", "items": {"type": "string"}}, "error": {"type": "string"},
                       "scan": {"$ref": "#/components/schemas/ScanResult"}},
        "required": ["id", "status"],
    }
    from souverain.web.survey_api import SURVEY_JOB_SCHEMA

    components["SurveyJob"] = SURVEY_JOB_SCHEMA
    return components


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*codes: int) -> dict[str, Any]:
    ref = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return {str(code): {"description": "problem", **ref} for code in codes}


def _query(name: str, description: str, *, required: bool = False, array: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if array else {"type": "string"}
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema,
            **({"explode": True} if array else {})}


AT = _query("at", "Evaluate ownership and laws as of this date (YYYY-MM-DD); default today.")
PROFILE = _query("profile", "Weight profile: csf-2025 or csf-2026 (default).")


@functools.cache
def document() -> dict[str, Any]:
    any_object = {"type": "object"}
    paths = {
        "/api/v1/health": {"get": {"summary": "Server, KB and schema versions",
                                   "responses": {"200": _ok(any_object)}}},
        "/api/v1/who/{target}": {"get": {
            "summary": "Who operates and controls a target (as `souverain who --format json`)",
            "parameters": [{"name": "target", "in": "path", "required": True, "schema": {"type": "string"}}, AT],
            "responses": {"200": _ok(any_object), **_problems(400, 401)}}},
        "/api/v1/scans": {"post": {
            "summary": "Queue a scan of one organisation's domains",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["domains"],
                "properties": {"domains": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                               "functions": {"type": "array", "items": {"enum": ["mail", "dns", "web"]}}}}}}},
            "responses": {"202": _ok({"type": "object", "properties": {"id": {"type": "string"},
                                                                        "status": {"const": "queued"}}}, "Queued"),
                          **_problems(400, 401, 413, 422)}}},
        "/api/v1/scans/{id}": {"get": {
            "summary": "A scan job: its status and, when done, the scan (as `souverain scan --format json`)",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _ok({"$ref": "#/components/schemas/ScanJob"}), **_problems(401, 404)}}},
        "/api/v1/assess/{offer}": {"get": {
            "summary": "Assess an offer (as `souverain assess --format json`)",
            "parameters": [{"name": "offer", "in": "path", "required": True, "schema": {"type": "string"}},
                           AT, PROFILE],
            "responses": {"200": _ok({"$ref": "#/components/schemas/Assessment"}), **_problems(400, 401, 404)}}},
        "/api/v1/assess": {"post": {
            "summary": "Assess an offer not in the KB from an answers document (the answers file of "
                       "`souverain assess --answers`, as JSON; `souverain assess --template` shows its fields)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": any_object}}},
            "responses": {"200": _ok({"$ref": "#/components/schemas/Assessment"}), **_problems(400, 401, 413, 422)}}},
        "/api/v1/compare": {"get": {
            "summary": "Compare offers (as `souverain compare --format json`)",
            "parameters": [_query("offer", "An offer id (twice or more)", required=True, array=True), AT, PROFILE],
            "responses": {"200": _ok({"type": "object", "properties": {
                "profile": {"type": "string"},
                "offers": {"type": "array", "items": {"$ref": "#/components/schemas/Assessment"}}}}),
                **_problems(400, 401, 404)}}},
        "/api/v1/kb/search": {"get": {
            "summary": "Knowledge-base records whose id, name, aliases or fingerprints contain q",
            "parameters": [_query("q", "Text to find (2 characters or more)", required=True),
                           _query("kind", "Only records of this kind")],
            "responses": {"200": _ok(any_object), **_problems(400, 401)}}},
    }
    from souverain.web.survey_api import openapi_paths

    paths.update(openapi_paths(_ok, _problems))
    return {
        "openapi": "3.1.0",
        "info": {"title": "souverain API", "version": CODE_VERSION, "license": {"name": "Apache-2.0"}},
        "paths": paths,
        "components": {"schemas": _components(),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
    }
