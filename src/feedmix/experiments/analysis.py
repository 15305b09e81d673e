"""An experiment's results: exposed units, their events, and every metric's comparison with the control.

Who counts: units with an exposure of the experiment's current bucket version (its analysis period);
a unit is in the arm it was first exposed to, and only its events from that first exposure on are
outcomes. The same metric over the ``pre_window_s`` before the first exposure is its CUPED covariate:
what the unit did before the treatment could touch it explains part of what it does after, and
removing that part narrows the interval without biasing it. A unit seen in two arms (which hashing
cannot produce unless assignment broke) is dropped and counted in ``warnings``.

Per treatment and metric: the difference with its fixed-horizon 95% interval and p-value (CUPED-
adjusted for mean metrics, delta method for ratios), the always-valid interval (look every day, the
error rate holds), and p-values adjusted by Benjamini-Hochberg across the metrics. The sample-ratio
check compares exposed units per arm with the variants' weights. The series (the same estimates at
every look since the period began) feed the plot.

Request guardrails (``latency_p99_ms``, ``error_rate``) come from the per-variant request counts the
serving processes keep (:mod:`feedmix.experiments.request_stats`), not from the event log: their unit
is the request.

A campaign-unit experiment's units are campaigns and its outcomes the ad log's rows of each campaign
(``ad_outcomes``: tracked impressions, clicks, billing); users' events and metrics do not apply.

Events count wherever they happened (any surface): an experiment that moves engagement from one
surface to another should show as no gain, not as a gain on its own surface.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.events.schema import EVENT_TYPES, Event
from feedmix.experiments import stats
from feedmix.experiments.exposure import Exposure
from feedmix.experiments.metric_catalog import METRICS, MetricDef
from feedmix.experiments.model import Experiment
from feedmix.experiments.request_stats import VALUES_MS, StatsRow, histograms

DAY_S = 86_400.0
#: the scale of effect the always-valid intervals are tuned for, relative to the control's level
RELATIVE_TAU = 0.05
#: what the analysis counts per unit: the event types, plus two derived kinds: ``page_view`` (a unit's
#: first impression of each request: one per page it saw) and ``ad_revenue`` (the ad log's billed
#: amounts, weighted in USD x 1000, so revenue over page views reads as USD per 1,000 page views)
COUNTED: tuple[str, ...] = (*EVENT_TYPES, "page_view", "ad_revenue", "ad_impression", "ad_click")
_TYPE_CODE: dict[str, int] = {t: i for i, t in enumerate(COUNTED)}
#: an ad-log row: (user id, request id, time, billed micros)
AdRevenueRow = tuple[str, str | None, float, int]
#: an ad-log row of a campaign: (campaign id, "impression" or "click", time, billed micros)
AdOutcomeRow = tuple[str, str, float, int]


@dataclass
class ExposedUnits:
    """One row per exposed unit: its arm and when it was first exposed."""

    units: list[str]
    arm: npt.NDArray[np.int64]
    first_ts: npt.NDArray[np.float64]
    #: units seen in more than one arm (dropped)
    conflicting: int = 0


@dataclass
class UnitEvents:
    """What exposed units did, as columns (unit row, counted-kind code, time, weight: 1 for an event,
    the amount for ad revenue)."""

    row: npt.NDArray[np.int64]
    code: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]


def exposed_units(exp: Experiment, exposures: Iterable[Exposure]) -> ExposedUnits:
    arm_of = {v.name: i for i, v in enumerate(exp.variants)}
    first: dict[str, tuple[float, int]] = {}
    conflicting: set[str] = set()
    for e in exposures:
        if e.experiment != exp.experiment_id or e.bucket_version != exp.bucket_version:
            continue
        arm = arm_of.get(e.variant)
        if arm is None:
            continue
        seen = first.get(e.unit)
        if seen is None:
            first[e.unit] = (e.ts, arm)
        elif seen[1] != arm:
            conflicting.add(e.unit)
        elif e.ts < seen[0]:
            first[e.unit] = (e.ts, arm)
    units = sorted(u for u in first if u not in conflicting)
    return ExposedUnits(
        units=units,
        arm=np.array([first[u][1] for u in units], dtype=np.int64),
        first_ts=np.array([first[u][0] for u in units], dtype=np.float64),
        conflicting=len(conflicting),
    )


def unit_events(
    exp: Experiment,
    exposed: ExposedUnits,
    events: Iterable[Event],
    ad_revenue: Iterable[AdRevenueRow] = (),
    ad_outcomes: Iterable[AdOutcomeRow] = (),
) -> UnitEvents:
    index = {u: i for i, u in enumerate(exposed.units)}
    by_request = exp.unit == "request"
    if exp.unit == "campaign":  # campaigns' outcomes are the ad log's, not users' events
        events, ad_revenue = (), ()
    else:
        ad_outcomes = ()
    rows: list[int] = []
    codes: list[int] = []
    times: list[float] = []
    weights: list[float] = []
    pages: set[tuple[int, str]] = set()
    page_view, revenue = _TYPE_CODE["page_view"], _TYPE_CODE["ad_revenue"]
    for e in events:
        key = e.request_id if by_request else e.user_id
        i = index.get(key) if key is not None else None
        if i is None or e.ts is None:
            continue
        rows.append(i)
        codes.append(_TYPE_CODE[e.type])
        times.append(e.ts)
        weights.append(1.0)
        if e.type == "impression" and e.request_id is not None and (i, e.request_id) not in pages:
            pages.add((i, e.request_id))
            rows.append(i)
            codes.append(page_view)
            times.append(e.ts)
            weights.append(1.0)
    for user_id, request_id, ts, micros in ad_revenue:
        key = request_id if by_request else user_id
        i = index.get(key) if key is not None else None
        if i is None:
            continue
        rows.append(i)
        codes.append(revenue)
        times.append(ts)
        weights.append(micros / 1e6 * 1000.0)
    for campaign_id, kind, ts, micros in ad_outcomes:
        i = index.get(campaign_id)
        if i is None:
            continue
        for code, weight in ((_TYPE_CODE[f"ad_{kind}"], 1.0), (revenue, micros / 1e6 * 1000.0)):
            if weight:
                rows.append(i)
                codes.append(code)
                times.append(ts)
                weights.append(weight)
    return UnitEvents(
        np.array(rows, dtype=np.int64),
        np.array(codes, dtype=np.int64),
        np.array(times, dtype=np.float64),
        np.array(weights, dtype=np.float64),
    )


def _counts(
    n_units: int, ev: UnitEvents, mask: npt.NDArray[np.bool_], types: Sequence[str]
) -> npt.NDArray[np.float64]:
    """Per unit, the weight (for events: the number) of the masked rows of one of ``types``."""
    codes = [_TYPE_CODE[t] for t in types]
    keep = mask & np.isin(ev.code, codes)
    return np.bincount(ev.row[keep], weights=ev.weight[keep], minlength=n_units).astype(np.float64)


def _metric_values(
    m: MetricDef, n: int, ev: UnitEvents, mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None]:
    num = _counts(n, ev, mask, m.numerator)
    den = _counts(n, ev, mask, m.denominator) if m.kind == "ratio" else None
    return num, den


def _tau(level: float, se: float) -> float:
    """The mixing scale of the always-valid interval: a ``RELATIVE_TAU`` change of the control's level,
    or the standard error where the level is 0 (nothing else gives a scale then)."""
    return abs(level) * RELATIVE_TAU if level != 0 else max(se, 1e-12)


def _compare(
    m: MetricDef,
    arm: npt.NDArray[np.int64],
    treat: int,
    post: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None],
    pre: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64] | None],
    alpha: float,
) -> dict[str, Any] | None:
    t, c = arm == treat, arm == 0
    if t.sum() < 2 or c.sum() < 2:
        return None
    num, den = post
    out: dict[str, Any] = {}
    if m.kind == "ratio":
        assert den is not None
        if den[t].sum() <= 0 or den[c].sum() <= 0:
            return None
        est = stats.ratio_difference(num[t], den[t], num[c], den[c], alpha)
        level = float(num[c].sum() / den[c].sum())
        raw_se = est.se
    else:
        raw = stats.mean_difference(num[t], num[c], alpha)
        adjusted = stats.cuped(num[t], pre[0][t], num[c], pre[0][c], alpha)
        est = adjusted.estimate
        level = float(num[c].mean())
        raw_se = raw.se
        out["cuped"] = {
            "theta": adjusted.theta,
            "variance_reduction": adjusted.variance_reduction,
            "unadjusted": raw.as_dict(),
        }
    out.update(est.as_dict())
    if est.se > 0 and math.isfinite(est.se):
        tau = _tau(level, raw_se)
        low, high = stats.always_valid_interval(est.diff, est.se, alpha, tau=tau)
        out["always_valid"] = {
            "ci_low": low,
            "ci_high": high,
            "p_value": stats.always_valid_p_value(est.diff, est.se, tau=tau),
            "tau": tau,
        }
    out["control_level"] = level
    return out


def analyze(
    exp: Experiment,
    exposures: Iterable[Exposure],
    events: Iterable[Event],
    now: float,
    alpha: float = 0.05,
    pre_window_s: float = 7 * DAY_S,
    looks: int = 12,
    request_stats: Sequence[StatsRow] = (),
    ad_revenue: Iterable[AdRevenueRow] = (),
    ad_outcomes: Iterable[AdOutcomeRow] = (),
) -> dict[str, Any]:
    """The experiment's report as JSON-ready data (see the module doc); ``request_stats`` are the
    serving processes' per-variant request counts (latency and error guardrails), ``ad_revenue`` the
    ad log's billed rows."""
    exposed = exposed_units(exp, exposures)
    ev = unit_events(exp, exposed, events, ad_revenue, ad_outcomes)
    n = len(exposed.units)
    until = now if exp.stop_ts is None else min(now, exp.stop_ts)
    warnings: list[str] = []
    if exposed.conflicting:
        warnings.append(f"{exposed.conflicting} units were exposed to more than one variant and are left out")
    counts = np.bincount(exposed.arm, minlength=len(exp.variants)) if n else np.zeros(len(exp.variants))
    report: dict[str, Any] = {
        "experiment": exp.as_dict(),
        "period_start": exp.period_start_ts,
        "until": until,
        "exposed": {v.name: int(k) for v, k in zip(exp.variants, counts, strict=True)},
        "events": int((ev.code < len(EVENT_TYPES)).sum()),
        "warnings": warnings,
    }
    if n and counts.min() > 0:
        check = stats.srm(counts, [v.weight for v in exp.variants])
        report["srm"] = {"chi2": check.statistic, "p_value": check.p_value, "alarm": check.alarm}
        if check.alarm:
            warnings.append(
                "sample ratio mismatch: the arms' sizes do not match the split; distrust every metric"
            )
    else:
        report["srm"] = None
        warnings.append("not every arm has an exposed unit yet")
    names = [exp.primary_metric, *[g for g in exp.guardrails if g != exp.primary_metric]]
    names += [name for name in METRICS if name not in names]
    names = [name for name in names if exp.unit in METRICS[name].units]
    by_events = [name for name in names if METRICS[name].kind != "request"]
    rows = _metrics(exp, by_events, exposed, ev, until, pre_window_s, alpha)
    rows += _request_metrics(exp, [name for name in names if name not in by_events], request_stats, alpha)
    report["metrics"] = _judge(exp, sorted(rows, key=lambda r: names.index(r["metric"])), alpha)
    report["series"] = _series(exp, by_events, exposed, ev, until, pre_window_s, alpha, looks)
    return report


def _row(exp: Experiment, name: str, arms: dict[str, Any], comparisons: dict[str, Any]) -> dict[str, Any]:
    """One metric's row of the report, the same shape for event and request metrics."""
    m = METRICS[name]
    role = "guardrail" if name in exp.guardrails else "secondary"
    return {
        "metric": name,
        "kind": m.kind,
        "direction": m.direction,
        "role": "primary" if name == exp.primary_metric else role,
        "description": m.description,
        "arms": arms,
        "comparisons": comparisons,
    }


def _request_metrics(
    exp: Experiment, names: Sequence[str], rows: Sequence[StatsRow], alpha: float
) -> list[dict[str, Any]]:
    """Latency p99 and error rate per variant, from the request counts the serving processes kept."""
    variants = [v.name for v in exp.variants]
    hist, degraded = histograms(rows, variants)
    requests = hist.sum(axis=1)
    out = []
    for name in names:
        arms: dict[str, Any] = {}
        comparisons: dict[str, Any] = {}
        for i, v in enumerate(variants):
            n = int(requests[i])
            value = None
            if n and name == "latency_p99_ms":
                value = float(stats.histogram_quantile(hist[i], VALUES_MS, 0.99))
            elif n:
                value = float(degraded[i] / n)
            arms[v] = {"units": n, "value": value}
        for k, v in enumerate(variants[1:], start=1):
            if not requests[k] or not requests[0]:
                continue
            if name == "latency_p99_ms":
                est = stats.histogram_quantile_difference(hist[k], hist[0], VALUES_MS, 0.99, alpha)
            else:
                est = stats.proportion_difference(
                    int(degraded[k]), int(requests[k]), int(degraded[0]), int(requests[0]), alpha
                )
            comparisons[v] = {**est.as_dict(), "control_level": arms[variants[0]]["value"]}
        out.append(_row(exp, name, arms, comparisons))
    return out


def _metrics(
    exp: Experiment,
    names: Sequence[str],
    exposed: ExposedUnits,
    ev: UnitEvents,
    until: float,
    pre_window_s: float,
    alpha: float,
) -> list[dict[str, Any]]:
    n = len(exposed.units)
    first = exposed.first_ts[ev.row] if n else np.zeros(0)
    post_mask = (ev.ts >= first) & (ev.ts < until)
    pre_mask = (ev.ts < first) & (ev.ts >= first - pre_window_s)
    rows: list[dict[str, Any]] = []
    for name in names:
        m = METRICS[name]
        post, pre = _metric_values(m, n, ev, post_mask), _metric_values(m, n, ev, pre_mask)
        arms = {}
        for i, v in enumerate(exp.variants):
            sel = exposed.arm == i
            num, den = post[0][sel], (post[1][sel] if post[1] is not None else None)
            value = (
                float(num.sum() / den.sum())
                if den is not None and den.sum() > 0
                else (float(num.mean()) if den is None and len(num) else None)
            )
            arms[v.name] = {"units": int(sel.sum()), "value": value}
        comparisons = {}
        for k, v in enumerate(exp.variants[1:], start=1):
            got = _compare(m, exposed.arm, k, post, pre, alpha) if n else None
            if got is not None:
                comparisons[v.name] = got
        rows.append(_row(exp, name, arms, comparisons))
    return rows


def _judge(exp: Experiment, rows: list[dict[str, Any]], alpha: float) -> list[dict[str, Any]]:
    """Benjamini-Hochberg across the metrics of each treatment, then the guardrail verdicts."""
    for v in exp.variants[1:]:
        found: list[dict[str, Any]] = [r["comparisons"][v.name] for r in rows if v.name in r["comparisons"]]
        if not found:
            continue
        adjusted, reject = stats.benjamini_hochberg([c["p_value"] for c in found], alpha)
        for c, p_adj, rej in zip(found, adjusted, reject, strict=True):
            c["p_value_bh"] = float(p_adj)
            c["significant"] = bool(rej)
    for r in rows:
        for c in r["comparisons"].values():
            harmful = c.get("significant") and c["diff"] * r["direction"] < 0
            c["guardrail_breached"] = bool(r["role"] == "guardrail" and harmful)
    return rows


def _series(
    exp: Experiment,
    names: Sequence[str],
    exposed: ExposedUnits,
    ev: UnitEvents,
    until: float,
    pre_window_s: float,
    alpha: float,
    looks: int,
) -> dict[str, list[dict[str, Any]]]:
    """The estimates as they stood at each look: daily when the period spans 3 days or more, else
    ``looks`` evenly spaced looks (a simulated day passes in minutes)."""
    start = exp.period_start_ts
    if start is None or not exposed.units or until <= start:
        return {}
    span = until - start
    step = DAY_S if span >= 3 * DAY_S else span / max(looks, 1)
    cuts = np.arange(start + step, until + step / 2, step)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for cut in cuts:
        in_by_then = exposed.first_ts < cut
        keep_units = np.flatnonzero(in_by_then)
        if len(keep_units) < 4:
            continue
        remap = np.full(len(exposed.units), -1, dtype=np.int64)
        remap[keep_units] = np.arange(len(keep_units))
        sub_units = ExposedUnits(
            [exposed.units[i] for i in keep_units], exposed.arm[keep_units], exposed.first_ts[keep_units]
        )
        ev_keep = remap[ev.row] >= 0
        sub_ev = UnitEvents(remap[ev.row][ev_keep], ev.code[ev_keep], ev.ts[ev_keep], ev.weight[ev_keep])
        for row in _metrics(exp, names, sub_units, sub_ev, float(cut), pre_window_s, alpha):
            for variant, g in row["comparisons"].items():
                av = g.get("always_valid", {})
                out[row["metric"]].append(
                    {
                        "t": float(cut),
                        "variant": variant,
                        "diff": g["diff"],
                        "ci_low": g["ci_low"],
                        "ci_high": g["ci_high"],
                        "av_low": av.get("ci_low"),
                        "av_high": av.get("ci_high"),
                        "units": len(keep_units),
                    }
                )
    return out
