"""Read a JSON document (a stored scan, a file written by ``--format json``) back into its model.

Validated on the way in (``pydantic.TypeAdapter`` over the dataclasses), so a document that does
not follow the schema is refused with the place it breaks, never half-read. Not for the hot path:
collectors and attribution build models directly.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")
_ADAPTERS: dict[type, Any] = {}


def _adapter(model: type[Any]) -> Any:
    if model not in _ADAPTERS:
        from pydantic import TypeAdapter

        _ADAPTERS[model] = TypeAdapter(model)
    return _ADAPTERS[model]


def load(model: type[T], data: Any) -> T:
    """``data`` (the JSON form, as parsed) as an instance of ``model``.

    Raises ``pydantic.ValidationError`` when it does not fit."""
    result: T = _adapter(model).validate_python(data)
    return result
