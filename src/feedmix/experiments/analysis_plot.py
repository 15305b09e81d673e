"""An experiment's metrics over time, one panel per metric: what people look at every day.

Each panel draws, for each treatment, the difference from the control at every look with its
always-valid interval (the band one may watch daily without inflating false positives) and the
fixed-horizon interval as a thinner band: a line that stays clear of zero in the wide band is a
result; one that only clears the narrow band is a peek.
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

_MAX_PANELS = 8


def plot_series(report: dict[str, Any], out: str | IO[bytes], metrics: list[str] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: the API and CLI render to files
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    series = report.get("series") or {}
    names = [m for m in (metrics or list(series)) if series.get(m)][:_MAX_PANELS] or ["(no data yet)"]
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.4 * len(names)), squeeze=False)
    exp = report["experiment"]
    fig.suptitle(f"{exp['experiment_id']} (bucket v{exp['bucket_version']}): treatment minus control")
    for ax, name in zip(axes[:, 0], names, strict=True):
        points = series.get(name, [])
        for variant in sorted({p["variant"] for p in points}):
            mine = [p for p in points if p["variant"] == variant]
            t = [dt.datetime.fromtimestamp(p["t"], tz=dt.UTC) for p in mine]
            diff = [p["diff"] for p in mine]
            (line,) = ax.plot(t, diff, marker="o", ms=3, label=variant)
            if all(p["av_low"] is not None for p in mine):
                ax.fill_between(
                    t,
                    [p["av_low"] for p in mine],
                    [p["av_high"] for p in mine],
                    alpha=0.15,
                    color=line.get_color(),
                )
            ax.fill_between(
                t,
                [p["ci_low"] for p in mine],
                [p["ci_high"] for p in mine],
                alpha=0.3,
                color=line.get_color(),
            )
        ax.axhline(0.0, color="black", lw=0.8)
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
        ax.set_ylabel(name, fontsize=8)
        ax.tick_params(labelsize=7)
        if points:
            ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
