"""Charts of ``feedmix ads simulate``: a PNG (matplotlib, Agg) and plain-text charts for the console.

The PNG has three panels: cumulative spend as a share of the day's budget against the pacing
target (the traffic profile's CDF, the same curve for every campaign once spend is normalised),
the pacer's serve probability over the day (where the throttling happened), and the ad-load
trade-off (revenue per 1,000 page views against organic engagement per page view).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def ascii_chart(
    actual: Sequence[float], target: Sequence[float], *, width: int = 48, height: int = 8, top: float = 1.1
) -> list[str]:
    """Cumulative share of budget (``*``) against the target (``.``) over the day, ``#`` where both.

    Both series are resampled to ``width`` columns; rows span 0 to ``top`` (110% of the budget).
    """
    a = _resample(actual, width)
    t = _resample(target, width)
    grid = [[" "] * width for _ in range(height)]

    def row(v: float) -> int:
        return height - 1 - min(height - 1, max(0, round(v / top * (height - 1))))

    for x in range(width):
        rt, ra = row(t[x]), row(a[x])
        grid[rt][x] = "."
        grid[ra][x] = "#" if ra == rt else "*"
    labels = [f"{top * (height - 1 - r) / (height - 1):>5.0%}" for r in range(height)]
    lines = [f"{labels[r]} |{''.join(grid[r])}" for r in range(height)]
    lines.append("      +" + "-" * width)
    hours = "".join(f"{h:<{width // 4}d}" for h in range(0, 24, 6))
    lines.append("       " + hours[:width] + " h UTC")
    return lines


def _resample(values: Sequence[float], width: int) -> FloatArray:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(width)
    idx = np.minimum((np.arange(width) + 1) * v.size // width, v.size) - 1
    out: FloatArray = v[np.maximum(idx, 0)]
    return out


def sparkline(values: Sequence[float], width: int = 48) -> str:
    """One line of block characters for values in [0, 1] (the serve probability over the day).

    Rounded up, so a campaign throttled to 1% of requests still shows ``▁`` rather than a blank that
    would read as "never served".
    """
    blocks = " ▁▂▃▄▅▆▇█"
    v = np.clip(_resample(values, width), 0.0, 1.0)
    return "".join(blocks[int(np.ceil(x * (len(blocks) - 1) - 1e-9))] for x in v)


def write_png(path: str | Path, report: Mapping[str, Any]) -> None:
    """The three-panel PNG of the module docstring from the report's ``pacing`` and ``tradeoff``."""
    import matplotlib

    matplotlib.use("Agg")  # no display: a CLI and CI render to files only
    import matplotlib.pyplot as plt

    pacing = report["pacing"]
    hours = np.asarray(pacing["bucket_end_s"], dtype=np.float64) / 3600.0
    tradeoff = report.get("tradeoff", [])
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    ax = axes[0]
    ax.plot(hours, np.asarray(pacing["target_share"]) * 100, "k--", lw=1.5, label="target (traffic CDF)")
    for c in pacing["campaigns"]:
        share = np.asarray(c["spend_share"], dtype=np.float64) * 100
        ax.plot(hours, share, lw=1.5, label=f"{c['campaign_id']} (${c['budget_usd']:,.0f}/day)")
    tol = report["config"]["overspend_tolerance"]
    ax.axhline(100 * (1 + tol), color="red", lw=0.8, ls=":", label=f"hard cap (+{tol:.0%})")
    ax.set(xlabel="hour of day (UTC)", ylabel="billed spend, % of daily budget", xlim=(0, 24))
    ax.set_title("Pacing: cumulative spend vs target")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1]
    for c in pacing["campaigns"]:
        ax.plot(hours, c["serve_prob"], lw=1.2, label=c["campaign_id"])
    ax.set(xlabel="hour of day (UTC)", ylabel="serve probability", xlim=(0, 24), ylim=(-0.02, 1.05))
    ax.set_title("Pacer serve probability (1 - throttle), mean per bucket")
    ax.legend(fontsize=8)
    ax = axes[2]
    if tradeoff:
        load = [r["ad_load"] * 100 for r in tradeoff]
        ax.plot(load, [r["revenue_per_1k_pv_usd"] for r in tradeoff], "o-", color="tab:green")
        ax.set(xlabel="max ad load (% of items)", ylabel="revenue per 1,000 page views (USD)")
        ax.tick_params(axis="y", labelcolor="tab:green")
        twin = ax.twinx()
        twin.plot(load, [r["organic_engagement_per_pv"] for r in tradeoff], "s--", color="tab:purple")
        twin.set_ylabel("organic engagement per page view", color="tab:purple")
        twin.tick_params(axis="y", labelcolor="tab:purple")
    ax.set_title("Ad load vs revenue and engagement")
    fig.suptitle(
        f"feedmix ads simulate: {report['summary']['page_views']:,} page views, "
        f"{report['summary']['campaigns']} campaigns, seed {report['config']['seed']}"
    )
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
