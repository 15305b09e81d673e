"""Params are typed and bounded; an override is validated as a whole and names what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.core.params import ParamError, ParamRegistry, ParamSpec

REG = ParamRegistry(
    [
        ParamSpec("limit", int, 10, "", min=1, max=100),
        ParamSpec("weight", float, 0.5, "", min=0.0, max=1.0),
        ParamSpec("on", bool, True, ""),
        ParamSpec("mode", str, "a", "", choices=("a", "b")),
    ]
)


def test_defaults_and_overrides_from_strings() -> None:
    p = REG.defaults().override({"limit": "20", "weight": "0.25", "on": "false", "mode": "b"})
    assert (p["limit"], p["weight"], p["on"], p["mode"]) == (20, 0.25, False, "b")


@pytest.mark.parametrize(
    "name,value,match",
    [
        ("limit", "0", "below the minimum"),
        ("limit", 101, "above the maximum"),
        ("limit", "ten", "expected an integer"),
        ("limit", 2.5, "expected an integer"),
        ("weight", "nan", "NaN"),
        ("on", "maybe", "expected a boolean"),
        ("mode", "c", "must be one of"),
        ("nope", 1, "unknown param"),
    ],
)
def test_bad_overrides_name_the_param(name: str, value: object, match: str) -> None:
    with pytest.raises(ParamError, match=match) as info:
        REG.defaults().override({name: value})
    assert info.value.name == name


def test_override_is_all_or_nothing() -> None:
    base = REG.defaults()
    with pytest.raises(ParamError):
        base.override({"limit": 5, "weight": 7})
    assert base["limit"] == 10  # unchanged; overrides return new objects


def test_duplicate_declaration_is_rejected() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        ParamRegistry([ParamSpec("x", int, 1, ""), ParamSpec("x", int, 2, "")])


def test_default_out_of_bounds_is_rejected_at_declaration() -> None:
    with pytest.raises(ParamError):
        ParamSpec("x", int, 0, "", min=1)


@given(st.integers(min_value=-1000, max_value=1000))
def test_int_bounds_property(v: int) -> None:
    if 1 <= v <= 100:
        assert REG.defaults().override({"limit": v})["limit"] == v
    else:
        with pytest.raises(ParamError):
            REG.defaults().override({"limit": v})
