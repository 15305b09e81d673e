"""Experiments for tests: a valid definition with every field at a sensible value."""

from __future__ import annotations

from typing import Any

from feedmix.experiments.model import Experiment, Targeting, Variant, check_definition


def make_experiment(
    experiment_id: str = "exp-a",
    overrides: dict[str, Any] | None = None,
    *,
    layer: str = "ranking",
    allocation: float = 0.5,
    coverage: float = 1.0,
    surfaces: tuple[str, ...] = ("home",),
    unit: str = "user",
    targeting: Targeting | None = None,
    status: str = "draft",
    range_start: float | None = None,
    weights: tuple[float, float] = (1.0, 1.0),
    bucket_version: int = 1,
) -> Experiment:
    exp = Experiment(
        experiment_id=experiment_id,
        owner="ranking-team",
        hypothesis="penalising hides more lowers hides without costing engagement",
        surfaces=surfaces,
        variants=(
            Variant("control", weights[0]),
            Variant("treatment", weights[1], overrides if overrides is not None else {"ranker.w_hide": 2.0}),
        ),
        layer=layer,
        unit=unit,  # type: ignore[arg-type]
        allocation=allocation,
        coverage=coverage,
        targeting=targeting or Targeting(),
        guardrails=("hides_per_user",),
        bucket_version=bucket_version,
    )
    exp = check_definition(exp)
    return exp.replace(status=status, range_start=range_start)
