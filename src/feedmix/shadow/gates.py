"""Pass/fail gates over a shadow report: what a candidate must satisfy before it takes live traffic.

A gate maps metric names (the keys of ``report["metrics"]``) to bounds on the metric's
**candidate** value::

    {"rbo": {"min": 0.8, "min_vs_noise": 0.9},
     "latency_p99_delta_ms": {"max": 5},
     "error_rate_delta": {"max": 0.001},
     "ad_winner_agreement": {"min": 0.7, "allow_missing": true},
     "feature_psi:ctr_7d": {"max": 0.25}}

Bounds:

* ``min`` / ``max``: candidate >= x / candidate <= x, in the metric's unit;
* ``min_vs_noise``: candidate >= x * noise, e.g. RBO at least 90% of what production achieves
  against itself; ``max_vs_noise``: candidate <= x * noise, e.g. score PSI at most twice the noise
  PSI. The ratio form exists because the noise level differs per surface and per day (exploration
  slots, trending sources), and an absolute bound tight enough to catch a change on a quiet surface
  fails every candidate on a noisy one. Meant for agreement and divergence metrics, which are
  non-negative; on a delta that the noise puts near 0 the product is near 0 too, so bound deltas
  absolutely;
* ``allow_missing``: by default a metric with no value fails its gate ("fail closed"): a gate on
  ad agreement that passes because no page carried ads has checked nothing. Set it to true for
  metrics that may legitimately be absent (ads on a surface without ads).

A metric name that no report can have is a ValueError naming it (a typo must not silently pass);
a per-column name (``feature_psi:<column>``) that this report lacks is a missing value instead,
since which columns a report has depends on its records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from feedmix.shadow.report import is_known_metric

BOUNDS = ("min", "max", "min_vs_noise", "max_vs_noise")
OPTIONS = ("allow_missing",)


@dataclass(frozen=True, slots=True)
class Check:
    """One bound of one gate: ``bound`` is its kind ("min", "max_vs_noise"...), ``limit`` the value
    the candidate was held to (for the ``_vs_noise`` kinds, the factor times the noise value;
    None when that noise value was missing)."""

    metric: str
    value: float | None
    bound: str
    limit: float | None
    passed: bool
    message: str


@dataclass(frozen=True, slots=True)
class GateResult:
    passed: bool
    checks: list[Check]

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks]}


def validate_gates(gates: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ValueError for a malformed gate: unknown metric, unknown key, no bound, non-numeric bound.

    Separate from `evaluate` so a config can be checked when it is written, not when a shadow ends.
    An empty gate set is refused too: it would pass any candidate.
    """
    if not gates:
        raise ValueError("no gates: an empty gate set would pass any candidate")
    for metric, spec in gates.items():
        if not is_known_metric(metric):
            raise ValueError(f"gate on unknown metric {metric!r}")
        if not isinstance(spec, Mapping):
            raise ValueError(f"gate {metric!r}: expected a mapping of bounds, got {type(spec).__name__}")
        unknown = set(spec) - set(BOUNDS) - set(OPTIONS)
        if unknown:
            known = [*BOUNDS, *OPTIONS]
            raise ValueError(f"gate {metric!r}: unknown keys {sorted(unknown)} (known: {known})")
        if not any(b in spec for b in BOUNDS):
            raise ValueError(f"gate {metric!r}: no bound (one of {list(BOUNDS)})")
        for b in BOUNDS:
            if b in spec:
                x = spec[b]
                if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                    raise ValueError(f"gate {metric!r}: {b} must be a finite number, got {x!r}")
        if not isinstance(spec.get("allow_missing", False), bool):
            raise ValueError(f"gate {metric!r}: allow_missing must be true or false")


def evaluate(report: Mapping[str, Any], gates: Mapping[str, Mapping[str, Any]]) -> GateResult:
    """Check the report against the gates; passed only if every check passed.

    A report over no requests fails whatever the gates say (an extra check on ``requests``), so
    that gates that all allow missing values cannot pass a shadow that compared nothing.
    """
    validate_gates(gates)
    metrics: Mapping[str, Mapping[str, Any]] = report["metrics"]
    checks: list[Check] = []
    requests = int(report.get("requests", 0))
    if requests == 0:
        message = "requests: no request compared; nothing to gate"
        checks.append(Check("requests", 0.0, "min", 1.0, False, message))
    for metric, spec in gates.items():
        row = metrics.get(metric, {})
        value = _number(row.get("candidate"))
        noise = _number(row.get("noise"))
        allow_missing = bool(spec.get("allow_missing", False))
        for bound in BOUNDS:
            if bound in spec:
                checks.append(_check(metric, bound, float(spec[bound]), value, noise, allow_missing))
    return GateResult(passed=all(c.passed for c in checks), checks=checks)


def _check(
    metric: str, bound: str, x: float, value: float | None, noise: float | None, allow_missing: bool
) -> Check:
    relative = bound.endswith("_vs_noise")
    limit = (x * noise if noise is not None else None) if relative else x
    if value is None or limit is None:
        what = "no candidate value" if value is None else "no noise value to compare with"
        if allow_missing:
            return Check(metric, value, bound, limit, True, f"{metric}: {what}; allowed (allow_missing)")
        message = f"{metric}: {what}; fails closed (set allow_missing to permit)"
        return Check(metric, value, bound, limit, False, message)
    op = ">=" if bound.startswith("min") else "<="
    passed = value >= limit if op == ">=" else value <= limit
    how = f"{x:g} x noise {noise:g} = {limit:g}" if relative and noise is not None else f"{limit:g}"
    verdict = "ok" if passed else "FAILED"
    return Check(metric, value, bound, limit, passed, f"{metric}: {value:g} {op} {how}: {verdict}")


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)
