"""The models' common machinery: the slot-setting ``__init__`` and pickling by field values."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from souverain.model import assessment, dependency, evidence, observation, scan, survey
from souverain.model.base import Model
from souverain.model.dependency import Dependency
from souverain.model.evidence import Evidence


def _models() -> list[type]:
    found = []
    for module in (assessment, dependency, evidence, observation, scan, survey):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Model) and dataclasses.is_dataclass(value) \
                    and value.__module__ == module.__name__:
                found.append(value)
    return found


@pytest.mark.parametrize("cls", _models(), ids=lambda cls: cls.__name__)
def test_every_frozen_model_gets_the_slot_init_with_the_dataclass_signature(cls):
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
    assert "__dataclass_builtins_object__" not in cls.__init__.__code__.co_freevars  # not the generated one
    names = [p.name for p in inspect.signature(cls.__init__).parameters.values()][1:]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert names == [f.name for f in fields if not f.kw_only] + [f.name for f in fields if f.kw_only]


def test_defaults_factories_keyword_only_and_frozen_behave_as_the_dataclass_ones():
    first = Dependency("a.fr", "email.inbound", "unknown", "low", "no-mx")
    second = Dependency("b.fr", "email.inbound", "unknown", "low", "no-mx")
    assert first.subject is None and first.chain == () and first.tier == "verified"
    assert first.reason_params == {} and first.reason_params is not second.reason_params  # a factory per object
    assert Dependency("a.fr", "email.inbound", "unknown", "low", "no-mx", tier="inferred").tier == "inferred"
    with pytest.raises(TypeError):
        Dependency("a.fr", "email.inbound", "unknown", "low", "no-mx", {}, None, None, None, None, (), None, (), (),
                   (), None, None, (), "inferred")  # tier is keyword-only
    with pytest.raises(TypeError):
        Dependency("a.fr", "email.inbound")  # required fields stay required
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.status = "identified"  # type: ignore[misc]
    assert dataclasses.replace(first, status="none") == Dependency("a.fr", "email.inbound", "none", "low", "no-mx")


def test_models_compare_hash_and_pickle_by_their_fields():
    item = Evidence("e1", "dns", "mx", "a.fr", "NOERROR", (), "127.0.0.1:53", "2026-01-01T00:00:00Z", {})
    again = Evidence("e1", "dns", "mx", "a.fr", "NOERROR", (), "127.0.0.1:53", "2026-01-01T00:00:00Z", {})
    assert item == again and pickle.loads(pickle.dumps(item)) == item
    assert repr(item).startswith("Evidence(id='e1'")


def test_replace_is_dataclasses_replace_without_its_cost():
    item = Dependency("a.fr", "email.inbound", "unknown", "low", "no-mx", subject="mx.a.fr", tier="inferred")
    changed = item.replace(status="identified", tier="verified")
    assert changed == dataclasses.replace(item, status="identified", tier="verified")
    assert item.status == "unknown" and changed.subject == "mx.a.fr" and type(changed) is Dependency
    assert item.replace() == item and item.replace() is not item
    with pytest.raises(TypeError, match="no field .colour. that replace may set"):
        item.replace(colour="blue")


def test_fields_init_does_not_take_start_from_their_default_and_are_not_copied():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Cached(Model):
        value: int
        seen: list[int] = dataclasses.field(default_factory=list)
        cache: str | None = dataclasses.field(default=None, init=False, compare=False)

    assert "__dataclass_builtins_object__" not in Cached.__init__.__code__.co_freevars
    item = Cached(1)
    assert item.cache is None and item.seen == [] and item.seen is not Cached(1).seen
    object.__setattr__(item, "cache", "derived from value")
    copy = item.replace(value=2)
    assert copy.value == 2 and copy.cache is None  # a derived cache is not carried to other values
    assert dataclasses.replace(item, value=2).cache is None  # what dataclasses.replace does too
    with pytest.raises(TypeError):
        Cached(1, [], "x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        item.replace(cache="x")
