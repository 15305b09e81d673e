"""Configuration errors fail loudly when a pipeline is built, never during a request."""

from __future__ import annotations

import pytest

from feedmix.core.pipeline import ConfigError, Pipeline, PipelineConfig

from .toy_components import Calls, toy_registry


def build(**slots: object) -> Pipeline:
    slots.setdefault("sources", [{"type": "range", "id": "a"}])
    return Pipeline.build(PipelineConfig(name="p", surface="s", **slots), toy_registry(), Calls())  # type: ignore[arg-type]


def test_duplicate_identifiers_are_rejected() -> None:
    with pytest.raises(ConfigError, match="duplicate component identifier 'a'"):
        build(sources=[{"type": "range", "id": "a"}, {"type": "range", "id": "a"}])


def test_duplicate_identifier_across_slots_is_rejected() -> None:
    with pytest.raises(ConfigError, match="duplicate"):
        build(sources=[{"type": "range", "id": "x"}], filters=[{"type": "min_value", "id": "x"}])


@pytest.mark.parametrize("bad", ["Upper", "1abc", "has-dash", "", "a" * 65])
def test_invalid_identifiers_are_rejected(bad: str) -> None:
    with pytest.raises(ConfigError, match="identifier"):
        build(sources=[{"type": "range", "id": bad}])


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown component type 'nope'"):
        build(sources=["nope"])


def test_component_in_the_wrong_slot_is_rejected() -> None:
    with pytest.raises(ConfigError, match="cannot go in filters"):
        build(filters=[{"type": "range", "id": "r"}])


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="range"):
        build(sources=[{"type": "range", "id": "r", "options": {"colour": "red"}}])


def test_bad_param_default_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"a\.n"):
        build(params={"a.n": 10_000})
    with pytest.raises(ConfigError, match="unknown param"):
        build(params={"a.nn": 1})


def test_undeclared_gate_is_rejected() -> None:
    with pytest.raises(ConfigError, match="undeclared gates"):
        build(sources=[{"type": "range", "id": "a", "gates": ["ghost"]}])


def test_pipeline_without_sources_is_rejected() -> None:
    with pytest.raises(ConfigError, match="no candidate sources"):
        build(sources=[])


def test_unknown_slot_key_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        PipelineConfig.from_dict("p", {"sources": ["range"], "filtres": []})


def test_every_component_declares_switch_and_timeout() -> None:
    p = build(filters=[{"type": "min_value", "id": "m"}])
    names = {s.name for s in p.param_registry.specs()}
    assert {"a.enabled", "a.timeout_ms", "a.n", "m.enabled", "m.timeout_ms", "pipeline.deadline_ms"} <= names
