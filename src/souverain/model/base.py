"""What every model shares: its JSON form (``as_dict``) and the JSON Schema of that form.

Models are ``@dataclass(frozen=True, slots=True)`` classes deriving from ``Model``: cheap to
create in the survey hot path (no validation per record), and their field order is the key order
of their JSON. Two class attributes adjust the JSON form and, from the same declaration, its
schema (``__get_pydantic_json_schema__``, read by ``pydantic.TypeAdapter``):

- ``OPTIONAL``: fields left out of the JSON when they are None (every other field is always
  written, so the schema lists it as required);
- ``COMPUTED``: JSON members computed from the fields (a property or a method without
  arguments), with the schema of their value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Self

JSONSchema = dict[str, Any]


class Model:
    __slots__ = ()
    OPTIONAL: ClassVar[frozenset[str]] = frozenset()
    COMPUTED: ClassVar[Mapping[str, JSONSchema]] = {}

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: nested models, tuples and dates converted, no deep copy of the rest."""
        out: dict[str, Any] = {}
        optional = self.OPTIONAL
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if value is None and name in optional:
                continue
            out[name] = to_json(value)
        for name in self.COMPUTED:
            value = getattr(self, name)
            out[name] = to_json(value() if callable(value) else value)
        return out

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> JSONSchema:
        schema: JSONSchema = handler(core_schema)
        target: JSONSchema = handler.resolve_ref_schema(schema)
        properties: dict[str, JSONSchema] = target.setdefault("properties", {})
        for name, value_schema in cls.COMPUTED.items():
            properties[name] = dict(value_schema)
        for value_schema in properties.values():
            value_schema.pop("default", None)  # how Python builds it, not what the JSON holds
        target["required"] = [name for name in properties if name not in cls.OPTIONAL]
        target["additionalProperties"] = False
        cls.adjust_schema(target)
        doc = cls.__doc__ or ""
        if doc and not doc.startswith(f"{cls.__name__}("):  # not the signature dataclass writes
            target["description"] = " ".join(doc.split())
        else:
            target.pop("description", None)
        return schema

    @classmethod
    def adjust_schema(cls, schema: JSONSchema) -> None:
        """Change this class's generated schema in place, where its JSON form is not its fields."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ``dataclass(slots=True)`` makes a second class from the first, with the generated methods
        # in its namespace: that one gets the faster ``__init__``
        params = cls.__dict__.get("__dataclass_params__")
        if "__slots__" in cls.__dict__ and params is not None and params.frozen:
            fast = _slot_init(cls)
            if fast is not None:
                cls.__init__ = fast  # type: ignore[method-assign]

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (``dataclasses.replace``, whose field-by-field checks and keyword
        call cost a survey several microseconds per dependency it adjusts)."""
        copier = _COPIERS.get(type(self))
        if copier is None:
            return dataclasses.replace(self, **changes)  # type: ignore[type-var]
        copy, setters = copier(self), _SETTERS[type(self)]
        for name, value in changes.items():
            setter = setters.get(name)
            if setter is None:  # as dataclasses.replace: a field set by __init__ alone is not replaced
                raise TypeError(f"{type(self).__name__} has no field {name!r} that replace may set")
            setter(copy, value)
        return copy  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled by field values in declaration order: a survey's rows cross from its worker
        # processes to the parent by the hundred thousand, and the dataclass default (a
        # ``dataclasses.fields()`` call per object, both ways) cost the parent a sixth of its time
        cls = type(self)
        return (_rebuild, (cls, tuple([getattr(self, name) for name in _field_names(cls)])))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in dataclasses.fields(cls))
    return names


def _slot_init(cls: type) -> Any:
    """An ``__init__`` for a frozen slotted dataclass that sets each field through its slot.

    The one ``dataclass`` writes calls ``object.__setattr__(self, name, value)`` per field, which
    CPython runs through a generic wrapper (an argument tuple sliced and unpacked per call); the
    slot's own setter, looked up once here, skips that: a model with twenty fields is built about
    a quarter faster, and a survey builds millions. Same signature, defaults and factories, and
    ``init=False`` fields set to their default as the dataclass does; None (keep the generated
    one) for a class with ``__post_init__``. Also makes the copier ``Model.replace`` uses.
    """
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or any(f.name in ("self", "copy") for f in fields):
        return None
    namespace: dict[str, Any] = {"_MISSING": dataclasses.MISSING, "_new": object.__new__, "_cls": cls}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    copy_body: list[str] = []
    for f in fields:
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__  # the slot's member descriptor
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{f.name}"] = f.default
            initial = f"_default_{f.name}"
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            initial = f"_factory_{f.name}()"
        else:
            initial = ""
        if not f.init:  # not a parameter: its default, in __init__ and in a copy (dataclasses.replace)
            if initial:
                body.append(f"    _set_{f.name}(self, {initial})")
                copy_body.append(f"    _set_{f.name}(copy, {initial})")
            continue
        if f.default is not dataclasses.MISSING:
            parameter = f"{f.name}=_default_{f.name}"
        elif f.default_factory is not dataclasses.MISSING:
            parameter = f"{f.name}=_MISSING"
            body.append(f"    if {f.name} is _MISSING:\n        {f.name} = _factory_{f.name}()")
        else:
            parameter = f.name
        (keyword if f.kw_only else positional).append(parameter)
        body.append(f"    _set_{f.name}(self, {f.name})")
        copy_body.append(f"    _set_{f.name}(copy, self.{f.name})")
    parameters = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    exec(f"def __init__({parameters}) -> None:\n" + "\n".join(body or ["    pass"]), namespace)  # noqa: S102
    exec("def _copy(self):\n    copy = _new(_cls)\n" + "\n".join(copy_body) + "\n    return copy", namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    _SETTERS[cls] = {f.name: namespace[f"_set_{f.name}"] for f in fields if f.init}
    _COPIERS[cls] = namespace["_copy"]
    return init


# for the classes built by ``_slot_init``: field name -> its slot's setter (fields __init__ takes),
# and a field-by-field copy
_SETTERS: dict[type, dict[str, Any]] = {}
_COPIERS: dict[type, Any] = {}


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """A model from its pickled field values (``Model.__reduce__``), as its frozen fields are set."""
    model: Any = object.__new__(cls)
    for name, value in zip(_field_names(cls), values, strict=True):
        object.__setattr__(model, name, value)
    return model


def to_json(value: Any) -> Any:
    """``value`` in its JSON form (models, named tuples with ``as_dict``, tuples, maps, dates)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    as_dict = getattr(value, "as_dict", None)
    if as_dict is not None:
        return as_dict()
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
