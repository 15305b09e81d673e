"""A definition is checked field by field; every refusal names the field to fix."""

from __future__ import annotations

from typing import Any

import pytest

from feedmix.experiments.model import ExperimentError, experiment_from_dict, experiment_from_stored


def _raw(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "experiment_id": "hide-weight",
        "owner": "ranking",
        "hypothesis": "a larger hide penalty lowers hides",
        "surfaces": ["home"],
        "layer": "ranking",
        "allocation": 0.5,
        "variants": [
            {"name": "control", "weight": 1},
            {"name": "treatment", "weight": 1, "overrides": {"ranker.w_hide": 2.0}},
        ],
        "targeting": {"user": "returning"},
        "guardrails": ["hides_per_user"],
    }
    raw.update(changes)
    return raw


def test_a_valid_definition_round_trips_and_normalises_weights() -> None:
    exp = experiment_from_dict(_raw(variants=[{"name": "c", "weight": 3}, {"name": "t", "weight": 1}]))
    assert [v.weight for v in exp.variants] == [0.75, 0.25]
    assert exp.status == "draft" and exp.control.name == "c"
    assert experiment_from_stored(exp.as_dict()) == exp


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"experiment_id": "Bad Id"}, "experiment_id"),
        ({"owner": " "}, "owner"),
        ({"surfaces": []}, "surfaces"),
        ({"surfaces": "home"}, "surfaces"),
        ({"unit": "session"}, "unit"),
        ({"layer": "global"}, "layer"),
        ({"allocation": 1.5}, "allocation"),
        ({"allocation": 0}, "allocation"),
        ({"coverage": -0.1}, "coverage"),
        ({"variants": [{"name": "only"}]}, "variants"),
        ({"variants": [{"name": "a"}, {"name": "a"}]}, "variants[1].name"),
        ({"variants": [{"name": "a"}, {"name": "b", "weight": -1}]}, "variants[1].weight"),
        ({"variants": [{"name": "a"}, {"name": "b", "overrides": {"x": [1]}}]}, "variants[1].overrides.x"),
        ({"variants": [{"name": "a"}, {"name": "b", "wieght": 1}]}, "variants[1].wieght"),
        ({"targeting": {"user": "old"}}, "targeting.user"),
        ({"targeting": {"nsfw": True}}, "targeting.nsfw"),
        ({"status": "running"}, "status"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ExperimentError) as err:
        experiment_from_dict(_raw(**changes))
    assert err.value.field == field
    assert err.value.status == 422


def test_missing_required_fields_are_named() -> None:
    raw = _raw()
    del raw["hypothesis"]
    with pytest.raises(ExperimentError, match="hypothesis"):
        experiment_from_dict(raw)
