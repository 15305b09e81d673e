"""The value model: documented defaults, hides subtract, typos are errors, a missing head adds nothing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.ranking.value_model import WEIGHT_PARAMS, WEIGHTS, value


def test_defaults_match_the_documented_formula() -> None:
    heads = {h: np.array([0.5, 0.1]) for h in ("click", "upvote", "comment", "hide")}
    total, parts = value(heads, {})
    assert total == pytest.approx([0.5 + 0.5 + 0.25 - 0.5, 0.1 + 0.1 + 0.05 - 0.1])
    assert parts["score.value.hide"] == pytest.approx([-0.5, -0.1])
    assert {p.name for p in WEIGHT_PARAMS} == {f"w_{h}" for h in WEIGHTS}


def test_unknown_weight_is_an_error_and_a_missing_head_adds_nothing() -> None:
    with pytest.raises(ValueError, match="clik"):
        value({"click": np.ones(2)}, {"clik": 1.0})
    total, parts = value({"click": np.array([0.2])}, {"comment": 5.0})
    assert total.tolist() == pytest.approx([0.2]) and set(parts) == {"score.value.click"}


@given(
    p=st.lists(st.floats(0, 1), min_size=4, max_size=4),
    w=st.lists(st.floats(0, 100), min_size=4, max_size=4),
    bump=st.floats(0.01, 0.5),
)
def test_value_rises_with_good_heads_and_falls_with_hides(
    p: list[float], w: list[float], bump: float
) -> None:
    names = ("click", "upvote", "comment", "hide")
    weights = dict(zip(names, w, strict=True))
    base = {h: np.array([x]) for h, x in zip(names, p, strict=True)}
    v0 = value(base, weights)[0][0]
    for h in names:
        moved = dict(base)
        moved[h] = base[h] + bump
        v1 = value(moved, weights)[0][0]
        if h == "hide":
            assert v1 <= v0 + 1e-9
        else:
            assert v1 >= v0 - 1e-9
