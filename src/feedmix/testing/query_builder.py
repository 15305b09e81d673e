"""Queries for testing components: the params a component declares (plus the framework's own), so a
test reads ``self.param(query, "limit")`` exactly as in production, with overrides validated the way a
request's are (an unknown or out-of-bounds one raises ``ParamError`` naming it)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from feedmix.core.components import Component
from feedmix.core.params import ParamRegistry
from feedmix.core.pipeline import PIPELINE_PARAMS
from feedmix.core.query import Deadline, Query

#: a fixed clock, so a test's freshness and ages do not drift with the day it runs
DEFAULT_NOW = 1_700_000_000.0


def make_query(
    *components: Component,
    params: Mapping[str, Any] | None = None,
    features: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    user_id: str = "kit-user",
    surface: str = "home",
    now: float = DEFAULT_NOW,
    limit: int = 25,
    seed: int = 0,
    deadline_ms: float = 10_000.0,
) -> Query:
    """A query for ``components``; ``params`` use full names (``my_filter.threshold``).

    The request id comes from ``seed``, so components that draw from :func:`request_rng` draw the
    same numbers for the same seed, and different ones for another.
    """
    registry = ParamRegistry(PIPELINE_PARAMS)
    for comp in components:
        for spec in comp.declared_params():
            registry.add(spec)
    return Query(
        user_id=user_id,
        surface=surface,
        params=registry.defaults().override(params or {}),
        deadline=Deadline(deadline_ms / 1000.0, start=time.perf_counter()),
        request_id=f"kit-{seed:08d}",
        now=now,
        limit=limit,
        context=dict(context or {}),
        features=dict(features or {}),
    )
