"""The kit catches each broken contract, naming the component and the contract, and passes a sound one."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Filter, QueryHydrator, Scorer, Selector
from feedmix.core.params import ParamError, ParamSpec
from feedmix.core.query import Query
from feedmix.testing import ContractViolation, check_component, make_batch, make_query


class ScoreFloorFilter(Filter):
    READS = ("score",)
    PARAMS = (ParamSpec("floor", float, 0.5, "lowest score kept", min=0, max=1),)

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        return np.asarray(batch.column("score") >= float(self.param(query, "floor")))


class IntMaskFilter(ScoreFloorFilter):
    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        return (batch.column("score") >= 0.5).astype(np.int8)  # type: ignore[return-value]


class InPlaceScorer(Scorer):
    READS = ("score",)

    def score(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.float64]:
        scores = batch.column("score")
        scores *= 2.0  # corrupts the column every later stage shares
        return scores  # type: ignore[no-any-return]


class UnseededScorer(Scorer):
    def score(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.float64]:
        return np.random.default_rng().random(len(batch))


class OutOfRangeSelector(Selector):
    def select(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.integer[Any]]:
        return np.arange(len(batch) + 1)


class ForgetfulHydrator(QueryHydrator):
    WRITES_QUERY = ("user.mood", "user.age")

    def hydrate(self, query: Query) -> dict[str, Any]:
        return {"user.mood": "fine"}


class AlwaysOnFilter(ScoreFloorFilter):
    def enabled(self, query: Query) -> bool:
        return True


def _batch() -> CandidateBatch:
    return make_batch({"score": np.linspace(0, 1, 11)})


def test_a_sound_filter_passes_every_contract() -> None:
    comp = ScoreFloorFilter("score_floor")
    report = check_component(comp, make_query(comp), _batch())
    assert report.component == "score_floor"
    assert "respects its enable switch" in report.checked
    assert {"output shape and dtype (non-empty)", "output shape and dtype (empty)"} <= set(report.checked)
    assert {"deterministic (non-empty)", "input not mutated (empty)"} <= set(report.checked)


@pytest.mark.parametrize(
    ("component", "contract"),
    [
        (IntMaskFilter("int_mask"), "output shape and dtype"),
        (InPlaceScorer("in_place"), "input not mutated"),
        (UnseededScorer("unseeded"), "deterministic under a seed"),
        (OutOfRangeSelector("out_of_range"), "output shape and dtype"),
        (ForgetfulHydrator("forgetful"), "output shape and dtype"),
        (AlwaysOnFilter("always_on"), "respects its enable switch"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_each_broken_contract_is_caught_and_named(component: Any, contract: str) -> None:
    with pytest.raises(ContractViolation, match=rf"component '{component.identifier}' .*{contract}"):
        check_component(component, make_query(component), _batch())


def test_a_query_without_the_components_params_is_a_contract_error() -> None:
    comp = ScoreFloorFilter("score_floor")
    with pytest.raises(ContractViolation, match="declared params"):
        check_component(comp, make_query(), _batch())


def test_make_query_checks_overrides_like_a_request() -> None:
    comp = ScoreFloorFilter("score_floor")
    assert make_query(comp, params={"score_floor.floor": "0.25"}).params["score_floor.floor"] == 0.25
    with pytest.raises(ParamError, match=r"score_floor\.floor"):
        make_query(comp, params={"score_floor.floor": 2})
    with pytest.raises(ParamError, match=r"score_floor\.typo"):
        make_query(comp, params={"score_floor.typo": 1})


def test_make_batch_fills_declared_columns_and_cannot_be_written() -> None:
    comp = ScoreFloorFilter("score_floor")
    batch = make_batch(n=4, component=comp, seed=3)
    assert batch.column_names == ["score"] and len(batch) == 4
    assert np.array_equal(batch.column("score"), make_batch(n=4, component=comp, seed=3).column("score"))
    with pytest.raises(ValueError, match="read-only"):
        batch.column("score")[0] = 1.0
