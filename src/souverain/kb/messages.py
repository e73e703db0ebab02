"""Validation problems in plain words, for people who edit KB records and answers files.

pydantic reports ``String should match pattern '^[A-Z]{2}$'``; a contributor needs "country must
be a two-letter ISO code such as FR". Patterns are matched by their text (they are defined once in
``kb/schema.py``), error types by pydantic's stable ``type`` codes; anything unknown falls back to
pydantic's own message, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

from souverain.kb.schema import ID_PATTERN

# pattern -> what a valid value looks like
PATTERNS: dict[str, str] = {
    ID_PATTERN: "a lowercase id (letters, digits, '.', '-', '_'; a letter or digit at each end), "
                "such as ovh-sas",
    r"^[A-Z]{2}$": "a two-letter ISO country code in capitals, such as FR",
    r"^[A-Z0-9]{20}$": "a 20-character Legal Entity Identifier (capital letters and digits)",
    r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9])?$": "a host-name suffix in lowercase without a trailing dot, "
                                           "such as mail.protection.outlook.com",
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+/\S*$":
        "a host suffix and a path prefix, such as google.com/recaptcha/",
    r"^[a-z0-9-]+(:.+)?$": "a lowercase header name, optionally with ':' and a value prefix, such as "
                           "x-served-by:cache-",
    r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$": "a DKIM selector such as selector1",
    r"^\{domain_dashed\}\.[a-z0-9.-]+$": "a host name starting with {domain_dashed}., such as "
                                         "{domain_dashed}.mail.protection.outlook.com",
    r"^SOV-[1-8]\.[0-9]+$": "a CSF criterion id such as SOV-2.1",
    r"^SOV-[1-8]$": "a CSF objective id such as SOV-2",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plain(error: ErrorDetails) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in plain words."""
    kind, ctx, value = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    got = f" (got {_shown(value)})" if kind != "missing" else ""
    if kind == "string_pattern_mismatch":
        wanted = PATTERNS.get(str(ctx.get("pattern")))
        if wanted:
            return f"must be {wanted}{got}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"is not a known field{got}: check its spelling against src/souverain/kb/data/README.md"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}{got}"
    if kind in ("enum",):
        return f"must be one of {ctx.get('expected', '')}{got}"
    if kind.startswith("url_") or kind == "url_parsing":
        return f"must be a web address starting with https://{got}"
    if kind.startswith(("date_", "datetime_")):
        return f"must be a date written YYYY-MM-DD{got}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than_equal": "at most", "less_than": "less than"}[kind]
        limit = next(iter(ctx.values()), "")
        return f"must be {bound} {limit}{got}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{got}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{got}"
    if kind in ("string_type",):
        return f"must be text{got}"
    if kind in ("list_type",):
        return f"must be a list, written [a, b] or as '- ' lines{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of fields{got}"
    if kind == "string_too_short":
        return f"must have at least {ctx.get('min_length')} characters{got}"
    if kind == "string_too_long":
        return f"must have at most {ctx.get('max_length')} characters{got}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "value_error":  # a validator of ours: its message is already written for people
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return str(error.get("msg", kind))
