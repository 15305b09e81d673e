"""Declared columns are checked when a pipeline is built; NaN and infinite scores never rank first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import CandidateSource, Filter, Scorer
from feedmix.core.executor import PipelineExecutor, sink_non_finite
from feedmix.core.pipeline import ComponentRegistry, ConfigError, Pipeline, PipelineConfig
from feedmix.core.query import Deadline, Query


class RowsSource(CandidateSource):
    WRITES = ("row",)

    def fetch(self, query: Query) -> CandidateBatch:
        return CandidateBatch(np.arange(1, 6), {"row": np.arange(5)})


class NeedsOver18(Filter):
    READS = ("over_18",)

    def keep(self, query: Query, batch: CandidateBatch) -> npt.NDArray[np.bool_]:
        return ~batch.column("over_18")


class NanScorer(Scorer):
    READS = ("row",)
    WRITES = ("score",)

    def score(self, query: Query, batch: CandidateBatch) -> Mapping[str, npt.NDArray[Any]]:
        s = batch.column("row").astype(np.float64)
        s[batch.column("row") == 4] = np.nan  # the best row by value is broken
        s[batch.column("row") == 3] = np.inf
        return {"score": s}


def registry() -> ComponentRegistry:
    r = ComponentRegistry()
    r.register("rows_source", RowsSource.from_deps)
    r.register("needs_over18", NeedsOver18.from_deps)
    r.register("nan_scorer", NanScorer.from_deps)
    return r


def test_a_column_nobody_writes_is_a_config_error_naming_component_and_column() -> None:
    cfg = PipelineConfig("p", "home", sources=["rows_source"], filters=["needs_over18"])
    with pytest.raises(ConfigError, match=r"'needs_over18' reads column 'over_18'"):
        Pipeline.build(cfg, registry())


def test_nan_and_infinite_scores_sink_and_are_traced() -> None:
    p = Pipeline.build(
        PipelineConfig("p", "home", sources=["rows_source"], scorers=["nan_scorer"]), registry()
    )
    ex = PipelineExecutor(workers=1)
    try:
        q = Query("u", "home", p.params(), Deadline.from_ms(1000), "r1", now=0.0, limit=5)
        res = ex.run(p, q)
    finally:
        ex.shutdown()
    assert res.batch.column("row").tolist()[:3] == [2, 1, 0]
    assert set(res.batch.column("row").tolist()[3:]) == {3, 4}
    scorers = next(s for s in res.trace.stages if s.stage == "scorers")
    assert scorers.non_finite_scores == 2


def test_sink_non_finite_keeps_finite_order() -> None:
    order, bad = sink_non_finite(np.array([0.5, np.nan, 2.0, -np.inf, 1.0]))
    assert order.tolist() == [2, 4, 0, 1, 3] and bad == 2
