"""The pipeline framework: queries, columnar candidates, component contracts, execution."""

from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import (
    PARAM_OVERRIDES,
    Blender,
    CandidateHydrator,
    CandidateSource,
    Component,
    Fallback,
    Filter,
    Gate,
    ParamHydrator,
    QueryHydrator,
    Scorer,
    Selector,
    SideEffect,
    SynchronousSideEffect,
)
from feedmix.core.params import ParamError, Params, ParamSpec
from feedmix.core.pipeline import ConfigError, Pipeline, PipelineConfig
from feedmix.core.query import Deadline, Query

__all__ = [
    "PARAM_OVERRIDES",
    "Blender",
    "CandidateBatch",
    "CandidateHydrator",
    "CandidateSource",
    "Component",
    "ConfigError",
    "Deadline",
    "Fallback",
    "Filter",
    "Gate",
    "ParamError",
    "ParamHydrator",
    "ParamSpec",
    "Params",
    "Pipeline",
    "PipelineConfig",
    "Query",
    "QueryHydrator",
    "Scorer",
    "Selector",
    "SideEffect",
    "SynchronousSideEffect",
]
