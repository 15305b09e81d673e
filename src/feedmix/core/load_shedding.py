"""Load shedding by quality factor: fewer candidates when the pipeline runs late, all of them again
when it recovers.

Under overload (a slow store, a burst of traffic, a noisy neighbour on the two cores) answering every
request a little worse beats answering some requests late or not at all. Each pipeline has a quality
factor in ``[min_factor, 1]``; every source's candidate budget (its ``limit``, ``k`` or
``per_community`` param) is scaled by it, so ranking, hydration and filtering all see fewer rows.

The controller, once per request, over the wall times of the last ``window`` requests:

* p90 above ``target_ms``: ``factor = max(min_factor, factor × decrease)`` (multiplicative: a real
  overload is shed within a few dozen requests);
* p90 below ``recover_below × target_ms``: ``factor = min(1, factor + increase)`` (additive: back up
  slowly, so the factor does not oscillate around the target);
* in between: unchanged.

A request that set a budget param itself (``p.trending.limit=...``) keeps its own value. The factor in
effect is in the response (``quality_factor``) and in Prometheus (``feedmix_quality_factor``).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import Gauge

from feedmix.core.params import ParamSpec

QUALITY_FACTOR = Gauge(
    "feedmix_quality_factor", "Share of each source's candidate budget in use", ["pipeline"]
)
#: source params that size the candidate set
BUDGET_PARAMS = ("limit", "k", "per_community")


@dataclass(frozen=True)
class SheddingParams:
    target_ms: float = 50.0
    min_factor: float = 0.25
    window: int = 50
    decrease: float = 0.9
    increase: float = 0.02
    recover_below: float = 0.7

    def __post_init__(self) -> None:
        if not (self.target_ms > 0 and 0 < self.min_factor <= 1 and self.window >= 5):
            raise ValueError("target_ms > 0, 0 < min_factor <= 1 and window >= 5 are required")
        if not (0 < self.decrease < 1 and 0 < self.increase <= 1 and 0 < self.recover_below < 1):
            raise ValueError("decrease and recover_below must be in (0, 1), increase in (0, 1]")


class QualityFactor:
    """The controller of one pipeline; ``observe`` and ``factor`` are safe from many threads."""

    def __init__(self, pipeline: str, params: SheddingParams) -> None:
        self.pipeline, self.params = pipeline, params
        self._times: deque[float] = deque(maxlen=params.window)
        self._factor = 1.0
        self._lock = threading.Lock()
        QUALITY_FACTOR.labels(pipeline).set(1.0)

    @property
    def factor(self) -> float:
        return self._factor

    def observe(self, wall_ms: float) -> float:
        p = self.params
        with self._lock:
            self._times.append(wall_ms)
            if len(self._times) >= min(p.window, 10):
                p90 = float(np.percentile(np.fromiter(self._times, dtype=np.float64), 90))
                if p90 > p.target_ms:
                    self._factor = max(p.min_factor, self._factor * p.decrease)
                elif p90 < p.recover_below * p.target_ms:
                    self._factor = min(1.0, self._factor + p.increase)
            factor = self._factor
        QUALITY_FACTOR.labels(self.pipeline).set(factor)
        return factor


def budget_overrides(
    factor: float, sources: Iterable[Any], defaults: Mapping[str, Any], requested: Iterable[str]
) -> dict[str, int]:
    """Scaled budget params of ``sources`` (components with ``declared_params``), except the ones the
    request set itself; empty at factor 1."""
    if factor >= 1.0:
        return {}
    requested = set(requested)
    out: dict[str, int] = {}
    for source in sources:
        for spec in source.declared_params():
            assert isinstance(spec, ParamSpec)
            if spec.name.rsplit(".", 1)[-1] not in BUDGET_PARAMS or spec.name in requested:
                continue
            value = int(defaults[spec.name])
            out[spec.name] = max(int(spec.min or 1), round(value * factor))
    return out
