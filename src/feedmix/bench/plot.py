"""HDR-style latency percentile plot, drawn only when matplotlib happens to be installed.

Tail latency lives in the last few "nines", which a linear percentile axis squeezes into a sliver;
plotting against ``1 / (1 - p)`` on a log axis gives 50 %, 90 %, 99 %, 99.9 % and 99.99 % equal
room, as HdrHistogram's plotter does.  matplotlib is deliberately not a dependency of feedmix (it is
large and only this optional picture needs it), so callers get ``False`` back when it is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

_TICKS = (50.0, 90.0, 99.0, 99.9, 99.99)


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def percentile_curve(
    values_ms: npt.NDArray[np.float64], points: int = 200
) -> tuple[list[float], list[float]]:
    """(x, y) of the curve: x is ``1 / (1 - p/100)`` for p from 50 to 99.99, y the latency in ms."""
    nines = np.linspace(np.log10(2.0), 4.0, points)
    x = 10.0**nines
    percentiles = 100.0 * (1.0 - 1.0 / x)
    y = np.percentile(values_ms, percentiles)
    return [float(v) for v in x], [float(v) for v in y]


def write_latency_plot(
    path: str | Path, series: Mapping[str, npt.NDArray[np.float64]], title: str = "Latency by percentile"
) -> bool:
    """Write a PNG/SVG/PDF (by extension) of the percentile curves; ``False`` without matplotlib.

    Empty series are left out (a run where every request failed has no latency curve).
    """
    if not matplotlib_available():
        return False
    import matplotlib

    matplotlib.use("Agg")  # never needs a display; the benchmark often runs on a headless box
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        for label, values in series.items():
            if values.size:
                x, y = percentile_curve(values)
                ax.plot(x, y, label=label)
        ax.set_xscale("log")
        ax.set_xticks([1.0 / (1.0 - t / 100.0) for t in _TICKS])
        ax.set_xticklabels([f"{t:g}%" for t in _TICKS])
        ax.minorticks_off()
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (ms)")
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(str(path))
    finally:
        plt.close(fig)
    return True
