"""The inputs a product pipeline really hands its components, for tests on real data: the query
after its hydrators ran, the candidates after the scorers (every column the pipeline computes, sorted
as the selectors get them), the page the blenders get and the result the side effects get.

It runs the pipeline itself through the executor, minus its side effects, so what a component sees
here is what it would see serving that request (and a test writes nothing to the stores).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import Component
from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.pipeline import SLOTS, Pipeline
from feedmix.core.query import Deadline, Query

_AFTER_SCORING = ("selectors", "blenders", "side_effects")


@dataclass(frozen=True)
class PipelineInputs:
    #: the request after query hydration
    query: Query
    #: every candidate after the scorers, best first, with every column the pipeline computes
    candidates: CandidateBatch
    #: the pipeline's last result without side effects (the page after the blenders)
    result: PipelineResult

    def batch_for(self, component: Component) -> CandidateBatch:
        """The batch ``component`` gets in its slot: the selected page for a blender, else the candidates."""
        if component.KIND == "blender":
            return self.result.page
        return self.candidates


def pipeline_inputs(
    pipeline: Pipeline,
    executor: PipelineExecutor,
    *,
    user_id: str,
    now: float,
    params: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    limit: int = 25,
    seed: int = 0,
) -> PipelineInputs:
    query = Query(
        user_id=user_id,
        surface=pipeline.surface,
        params=pipeline.params(params),
        deadline=Deadline(60.0),
        request_id=f"kit-{seed:08d}",
        now=now,
        limit=limit,
        context=dict(context or {}),
    )
    scored = executor.run(_without(pipeline, _AFTER_SCORING), _with_limit(query, 1_000_000))
    result = executor.run(_without(pipeline, ("side_effects",)), query)
    if result.degraded or scored.degraded:
        failed = result.failed_components or scored.failed_components
        raise RuntimeError(
            f"pipeline {pipeline.name!r} ran degraded ({failed}): its inputs are not what it serves"
        )
    return PipelineInputs(query=scored.query, candidates=scored.batch, result=result)


def _without(pipeline: Pipeline, slots: tuple[str, ...]) -> Pipeline:
    """The pipeline minus ``slots``; its own param defaults are unused (the query holds the full
    pipeline's params), so the config's overrides of removed components are dropped."""
    kept = {slot: ([] if slot in slots else list(getattr(pipeline, slot))) for slot in SLOTS}
    return Pipeline(replace(pipeline.config, params={}), kept, pipeline.component_gates)


def _with_limit(query: Query, limit: int) -> Query:
    return replace(query, limit=limit)
