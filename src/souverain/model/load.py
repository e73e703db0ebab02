"""Read a JSON document (a stored scan, a file written by ``--format json``) back into its model.

Validated on the way in (``pydantic.TypeAdapter`` over the dataclasses), so a document that does
not follow the schema is refused with the place it breaks, never half-read. Not for the hot path:
collectors and attribution build models directly.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def _adapter(model: type[Any]) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(model)


def load(model: type[T], data: Any) -> T:
    """``data`` (the JSON form, as parsed) as an instance of ``model``; ``pydantic.ValidationError`` if it does not fit."""
    result: T = _adapter(model).validate_python(data)
    return result
