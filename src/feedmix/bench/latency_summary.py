"""The one latency summary every micro-benchmark prints, so their JSON compares field by field."""

from __future__ import annotations

import numpy as np


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/mean in milliseconds of wall-time samples given in seconds."""
    ms = np.array(samples_s) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p90_ms": round(float(np.percentile(ms, 90)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }
