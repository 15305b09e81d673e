"""The rules of starting, ramping and re-allocating: the layer's 100%, one owner per param, versions."""

from __future__ import annotations

import pytest

from feedmix.core.params import ParamRegistry, ParamSpec
from feedmix.experiments import rules
from feedmix.experiments.model import ExperimentError
from tests.experiments.factories import make_experiment

REGISTRY = ParamRegistry(
    [
        ParamSpec("ranker.w_hide", float, 1.0, "hide weight", min=0, max=10),
        ParamSpec("ranker.w_click", float, 1.0, "click weight", min=0, max=10),
        ParamSpec("trending.limit", int, 100, "trending budget", min=1, max=1000),
    ]
)


def _params_of(surface: str) -> ParamRegistry | None:
    return REGISTRY if surface in ("home", "community") else None


def test_a_new_experiment_must_override_known_params_within_bounds() -> None:
    rules.check_new(make_experiment(), _params_of)
    with pytest.raises(ExperimentError) as err:
        rules.check_new(make_experiment(overrides={"ranker.w_hyde": 2.0}), _params_of)
    assert err.value.field == "variants[1].overrides.ranker.w_hyde" and "unknown param" in err.value.message
    with pytest.raises(ExperimentError) as err:
        rules.check_new(make_experiment(overrides={"ranker.w_hide": 50.0}), _params_of)
    assert err.value.field == "variants[1].overrides.ranker.w_hide" and "maximum" in err.value.message
    with pytest.raises(ExperimentError, match="unknown surface"):
        rules.check_new(make_experiment(surfaces=("games",)), _params_of)
    with pytest.raises(ExperimentError, match="unknown community"):
        from feedmix.experiments.model import Targeting

        rules.check_new(
            make_experiment(targeting=Targeting(communities=("nope",))), _params_of, lambda c: False
        )


def test_starting_places_experiments_side_by_side_after_the_holdout() -> None:
    a = rules.start(make_experiment("a", allocation=0.3), [], {"ranking": 0.1}, now=1.0)
    b = rules.start(
        make_experiment("b", {"ranker.w_click": 2.0}, allocation=0.6), [a], {"ranking": 0.1}, now=2.0
    )
    assert a.status == "running" and a.range_start == pytest.approx(0.1) and a.start_ts == 1.0
    assert b.range_start == pytest.approx(0.4)


def test_allocations_in_a_layer_cannot_sum_past_100_percent() -> None:
    a = rules.start(make_experiment("a", allocation=0.7), [], {}, now=1.0)
    with pytest.raises(ExperimentError) as err:
        rules.start(make_experiment("b", {"ranker.w_click": 2.0}, allocation=0.4), [a], {}, now=2.0)
    assert err.value.field == "allocation" and err.value.status == 409 and "30.00% free" in err.value.message


def test_a_second_running_experiment_on_the_same_param_is_refused() -> None:
    a = rules.start(make_experiment("a", allocation=0.3), [], {}, now=1.0)
    for layer in ("ranking", "other"):
        with pytest.raises(ExperimentError) as err:
            rules.start(make_experiment("b", allocation=0.3, layer=layer), [a], {}, now=2.0)
        assert err.value.field == "variants" and "ranker.w_hide" in err.value.message
    # on another surface the same param is another knob
    rules.start(make_experiment("c", allocation=0.3, surfaces=("community",)), [a], {}, now=2.0)


def test_a_layer_randomises_by_one_unit() -> None:
    a = rules.start(make_experiment("a", allocation=0.3), [], {}, now=1.0)
    with pytest.raises(ExperimentError) as err:
        rules.start(make_experiment("b", {"trending.limit": 5}, allocation=0.3, unit="request"), [a], {}, 2.0)
    assert err.value.field == "unit"


def test_changing_a_running_allocation_needs_a_new_bucket_version() -> None:
    a = rules.start(make_experiment("a", allocation=0.3), [], {}, now=1.0)
    with pytest.raises(ExperimentError) as err:
        rules.reallocate(a, 0.5, None, [], {}, now=5.0)
    assert err.value.field == "bucket_version"
    moved = rules.reallocate(a, 0.5, 2, [], {}, now=5.0)
    assert moved.allocation == 0.5 and moved.bucket_version == 2 and moved.period_start_ts == 5.0
    draft = rules.reallocate(make_experiment("d"), 0.2, None, [], {}, now=5.0)
    assert draft.allocation == 0.2 and draft.bucket_version == 1


def test_lifecycle_transitions() -> None:
    a = rules.start(make_experiment("a"), [], {}, now=1.0)
    with pytest.raises(ExperimentError, match="only a draft"):
        rules.start(a, [], {}, now=2.0)
    assert rules.ramp(a, 0.1).coverage == 0.1
    with pytest.raises(ExperimentError) as err:
        rules.ramp(a, 1.1)
    assert err.value.field == "coverage"
    stopped = rules.stop(a, now=3.0)
    assert stopped.status == "stopped" and stopped.stop_ts == 3.0
    with pytest.raises(ExperimentError):
        rules.ramp(stopped, 0.5)
    assert rules.launch(stopped, now=4.0).status == "launched"


def test_a_layer_holdout_cannot_swallow_a_running_slice() -> None:
    a = rules.start(make_experiment("a", allocation=0.3), [], {}, now=1.0)
    rules.check_holdout("other", 0.5, [a])
    rules.check_holdout("global", 0.2, [a])
    with pytest.raises(ExperimentError, match="stop it or re-allocate"):
        rules.check_holdout("ranking", 0.1, [a])


def test_a_budget_split_randomises_users_untargeted_and_changes_ads_params_only() -> None:
    from feedmix.experiments.model import Targeting

    registry = ParamRegistry(
        [*REGISTRY.specs(), ParamSpec("ad_slots.reserve_scale", float, 1.0, "r", min=0.1, max=10)]
    )

    def params_of(surface: str) -> ParamRegistry | None:
        return registry if surface == "home" else None

    ok = make_experiment("bs", {"ad_slots.reserve_scale": 2.0}).replace(kind="budget_split")
    rules.check_new(ok, params_of)
    for bad, field in (
        (ok.replace(unit="request"), "unit"),
        (ok.replace(targeting=Targeting(user="new")), "targeting"),
        (
            make_experiment("bs", {"ranker.w_hide": 2.0}).replace(kind="budget_split"),
            "variants[1].overrides.ranker.w_hide",
        ),
    ):
        with pytest.raises(ExperimentError) as err:
            rules.check_new(bad, params_of)
        assert err.value.field == field
    running = rules.start(ok, [], {}, now=1.0)
    other = make_experiment("bs2", {"ad_slots.min_gap": 3}, layer="ads").replace(kind="budget_split")
    with pytest.raises(ExperimentError, match="one at a time"):
        rules.start(other, [running], {}, now=2.0)
