"""The rules of an experiment's life: what may be created, started, ramped, re-allocated, stopped.

Each rule is a pure function from the experiment (and what else runs) to the changed experiment, or
an :class:`~feedmix.experiments.model.ExperimentError` naming the field. The store applies them inside
one write transaction, so two operators starting experiments in one layer at once cannot both take
the same slice (see :meth:`feedmix.experiments.experiment_store.ExperimentStore.update`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from feedmix.core.params import ParamError, ParamRegistry, ParamSpec
from feedmix.experiments.assignment import BID_MULTIPLIER
from feedmix.experiments.metric_catalog import METRICS
from feedmix.experiments.model import GLOBAL, Experiment, ExperimentError, Targeting

#: slices and shares are compared with this slack, so 0.1 + 0.2 still fits a 0.3 gap
EPS = 1e-9
#: what a budget-split experiment may change: the ads blender's params (placement, the auction's reserve)
BUDGET_SPLIT_PARAMS = ("ad_slots.",)
#: what a campaign-unit experiment may change: knobs the ad server applies to one campaign's bids
CAMPAIGN_PARAMS = ParamRegistry(
    [
        ParamSpec(
            BID_MULTIPLIER,
            float,
            1.0,
            "multiplies the campaign's bids in every auction",
            min=0.25,
            max=4.0,
        )
    ]
)


def check_new(
    exp: Experiment,
    params_of: Callable[[str], ParamRegistry | None],
    community_known: Callable[[str], bool] | None = None,
) -> None:
    """What a new experiment must satisfy beyond its own shape: known surfaces, every override a
    param of every surface it runs on and within that param's bounds, known metrics and communities."""
    for i, surface in enumerate(exp.surfaces):
        if params_of(surface) is None:
            raise ExperimentError(f"surfaces[{i}]", f"unknown surface {surface!r}")
    if exp.unit == "campaign":
        _check_campaign_unit(exp)
    elif exp.kind == "budget_split":
        _check_budget_split(exp)
    for i, v in enumerate(exp.variants):
        for name, value in v.overrides.items():
            if exp.unit == "campaign":
                continue  # checked against the campaign knobs above
            for surface in exp.surfaces:
                registry = params_of(surface)
                assert registry is not None
                try:
                    registry.spec(name).validate(value)
                except ParamError as exc:
                    detail = str(exc).removeprefix(f"param {name!r}: ")
                    raise ExperimentError(
                        f"variants[{i}].overrides.{name}", f"{detail} (surface {surface!r})"
                    ) from None
    if exp.primary_metric not in METRICS:
        raise ExperimentError("primary_metric", f"unknown metric (known: {sorted(METRICS)})")
    for i, g in enumerate(exp.guardrails):
        if g not in METRICS:
            raise ExperimentError(f"guardrails[{i}]", f"unknown metric (known: {sorted(METRICS)})")
    if community_known is not None:
        for i, c in enumerate(exp.targeting.communities):
            if not community_known(c):
                raise ExperimentError(f"targeting.communities[{i}]", f"unknown community {c!r}")


def _check_campaign_unit(exp: Experiment) -> None:
    """Campaigns randomised: each arm's campaigns get the variant's knobs in every auction, for features
    an advertiser opts into (an automated bid). Arms meet in the same auctions, so a knob that wins
    auctions for one arm takes them from the other: use a budget split to measure marketplace effects."""
    if exp.kind != "standard":
        raise ExperimentError(
            "kind", "a campaign-unit experiment is a standard one (budget splits randomise users)"
        )
    if exp.targeting != Targeting():
        raise ExperimentError("targeting", "campaigns are not targeted by user attributes")
    for i, v in enumerate(exp.variants):
        for name, value in v.overrides.items():
            try:
                CAMPAIGN_PARAMS.spec(name).validate(value)
            except ParamError as exc:
                detail = str(exc).removeprefix(f"param {name!r}: ")
                known = [s.name for s in CAMPAIGN_PARAMS.specs()]
                raise ExperimentError(
                    f"variants[{i}].overrides.{name}", f"{detail} (campaign knobs: {known})"
                ) from None
    for i, name in enumerate([exp.primary_metric, *exp.guardrails]):
        if name in METRICS and "campaign" not in METRICS[name].units:
            field = "primary_metric" if i == 0 else f"guardrails[{i - 1}]"
            raise ExperimentError(field, f"{name!r} is not measured per campaign")


def _check_budget_split(exp: Experiment) -> None:
    """A budget split must cover its share of the traffic exactly: its arms' budget shares are their
    traffic shares, so targeting (which would move traffic without moving budget) is refused, and it
    changes only the ads knobs (a feed change needs no split budget, and would confound one)."""
    if exp.unit != "user":
        raise ExperimentError("unit", "a budget-split experiment randomises users")
    if exp.targeting != Targeting():
        raise ExperimentError("targeting", "a budget-split experiment takes every user of its slice")
    for i, v in enumerate(exp.variants):
        for name in v.overrides:
            if not name.startswith(BUDGET_SPLIT_PARAMS):
                raise ExperimentError(
                    f"variants[{i}].overrides.{name}",
                    f"a budget-split experiment changes ads params only ({', '.join(BUDGET_SPLIT_PARAMS)}*)",
                )


def start(
    exp: Experiment, running: Sequence[Experiment], holdouts: Mapping[str, float], now: float
) -> Experiment:
    """A draft begins: it takes a free slice of its layer and must not fight a running experiment."""
    if exp.kind == "budget_split":
        for e in running:
            if e.kind == "budget_split" and e.experiment_id != exp.experiment_id:
                raise ExperimentError(
                    "kind",
                    f"budget-split experiment {e.experiment_id!r} is running: one at a time",
                    status=409,
                )
    if exp.status != "draft":
        raise ExperimentError("status", f"only a draft can start; this one is {exp.status}", status=409)
    others = [e for e in running if e.experiment_id != exp.experiment_id]
    _check_unit(exp, others)
    _check_params(exp, others)
    start_at = place(exp.layer, exp.allocation, others, holdouts)
    return exp.replace(status="running", range_start=start_at, start_ts=now, period_start_ts=now)


def stop(exp: Experiment, now: float) -> Experiment:
    if exp.status != "running":
        raise ExperimentError(
            "status", f"only a running experiment can stop; this one is {exp.status}", status=409
        )
    return exp.replace(status="stopped", stop_ts=now)


def launch(exp: Experiment, now: float) -> Experiment:
    """The decision is made: the experiment stops serving and is recorded as launched (the winning
    variant's overrides then belong in the pipeline's config, where they serve everyone)."""
    if exp.status not in ("running", "stopped"):
        raise ExperimentError(
            "status", f"only a running or stopped experiment can launch; it is {exp.status}", status=409
        )
    return exp.replace(status="launched", stop_ts=exp.stop_ts if exp.stop_ts is not None else now)


def ramp(exp: Experiment, coverage: float) -> Experiment:
    """Change the share of the reservation in the experiment. Up keeps every unit in its variant; down
    drops the units at the top of each variant's range (they return to the defaults)."""
    if exp.status not in ("draft", "running"):
        raise ExperimentError("status", f"a {exp.status} experiment cannot be ramped", status=409)
    if not (math.isfinite(coverage) and 0 <= coverage <= 1):
        raise ExperimentError("coverage", f"must be a share in [0, 1], got {coverage!r}")
    return exp.replace(coverage=float(coverage))


def reallocate(
    exp: Experiment,
    allocation: float,
    bucket_version: int | None,
    running: Sequence[Experiment],
    holdouts: Mapping[str, float],
    now: float,
) -> Experiment:
    """Change the reserved share. A running experiment must also take a new bucket version: moving its
    slice re-randomises who is in it, and a new version says so, starting a new analysis period."""
    if not (math.isfinite(allocation) and 0 < allocation <= 1):
        raise ExperimentError("allocation", f"must be a share in (0, 1], got {allocation!r}")
    version = exp.bucket_version if bucket_version is None else int(bucket_version)
    if exp.status == "draft":
        return exp.replace(allocation=float(allocation), bucket_version=version)
    if exp.status != "running":
        raise ExperimentError("status", f"a {exp.status} experiment cannot be re-allocated", status=409)
    if version <= exp.bucket_version:
        raise ExperimentError(
            "bucket_version",
            f"changing a running experiment's allocation needs a new bucket version (> {exp.bucket_version})",
        )
    others = [e for e in running if e.experiment_id != exp.experiment_id]
    start_at = place(exp.layer, allocation, others, holdouts)
    return exp.replace(
        allocation=float(allocation), bucket_version=version, range_start=start_at, period_start_ts=now
    )


def place(
    layer: str, allocation: float, running: Sequence[Experiment], holdouts: Mapping[str, float]
) -> float:
    """The start of the first free slice of ``allocation`` in the layer, after its holdout."""
    taken = sorted(
        (e.range_start, e.range_start + e.allocation)
        for e in running
        if e.layer == layer and e.range_start is not None
    )
    cursor = float(holdouts.get(layer, 0.0))
    free_total, largest = 0.0, 0.0
    for low, high in [*taken, (1.0, 1.0)]:
        gap = low - cursor
        if gap + EPS >= allocation:
            return cursor
        free_total += max(gap, 0.0)
        largest = max(largest, gap)
        cursor = max(cursor, high)
    raise ExperimentError(
        "allocation",
        f"layer {layer!r} has {free_total:.2%} free ({largest:.2%} in one piece) after its holdout and "
        f"running experiments; {allocation:.2%} does not fit (allocations in a layer cannot sum past 100%)",
        status=409,
    )


def check_holdout(scope: str, share: float, running: Sequence[Experiment]) -> None:
    """A holdout share may change only where no running experiment's slice would fall inside it."""
    if not (math.isfinite(share) and 0 <= share < 1):
        raise ExperimentError("share", f"must be a share in [0, 1), got {share!r}")
    if scope == GLOBAL:
        return
    for e in running:
        if e.layer == scope and e.range_start is not None and e.range_start + EPS < share:
            raise ExperimentError(
                "share",
                f"running experiment {e.experiment_id!r} owns [{e.range_start:.4f}, ...) of layer {scope!r}; "
                "stop it or re-allocate it first",
                status=409,
            )


def _check_unit(exp: Experiment, running: Sequence[Experiment]) -> None:
    for e in running:
        if e.layer == exp.layer and e.unit != exp.unit:
            raise ExperimentError(
                "unit",
                f"layer {exp.layer!r} randomises by {e.unit} ({e.experiment_id!r} runs there); "
                f"this experiment randomises by {exp.unit}: use another layer",
                status=409,
            )


def _check_params(exp: Experiment, running: Sequence[Experiment]) -> None:
    """One running experiment per param and surface: two would fight over the value for the units
    they share (in one layer they share none, but their results would then be confounded by which
    slice each got, and the issue's rule is simple to state: one owner per knob)."""
    mine = exp.params()
    for e in running:
        if not set(exp.surfaces) & set(e.surfaces):
            continue
        clash = sorted(mine & e.params())
        if clash:
            where = "in the same layer" if e.layer == exp.layer else f"in layer {e.layer!r}"
            raise ExperimentError(
                "variants",
                f"param {clash[0]!r} is already changed by running experiment {e.experiment_id!r} {where}",
                status=409,
            )
