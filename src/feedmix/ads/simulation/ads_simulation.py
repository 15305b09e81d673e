"""``feedmix ads simulate``: a day of simulated traffic through the ad server, and the ad-load trade-off.

Why: pacing, the budget guard and the ad load can only be judged over a whole day of traffic with a
realistic shape; a unit test sees a few requests. This runs the real :class:`AdServer` (targeting,
frequency caps, PI pacing, pCTR, GSP auction, atomic budget reserve) and the real blender on a
simulated clock, so what it reports is what serving would do with that traffic.

The model
---------
* **Clock and traffic.** ``--requests-per-day`` page views arrive over one UTC day (2024-01-01, a
  Monday) with hourly density ``DIURNAL_PROFILE`` (evening peak ~3x the pre-dawn trough). The
  pacer is given the same profile, so its target is "spend in step with the traffic". The pacing
  thread is not started: ``decide`` steps the controller at each request's simulated time.
* **Users and pages.** A seeded :class:`Population` (joined communities by real subscriber counts)
  picks the viewer by activity. Each page holds ``--page-size`` draws from the top posts of the
  user's communities (community by interest, rank ~ geometric), ranked by the user's click
  probability at the top slot -- a cheap stand-in for the ranker (the HTTP service is not run).
* **Ads.** As in :mod:`feedmix.ads.decision.feed_ads`: the blender says how many slots the page has at the ad
  load (``max_load``, ``first_position``, ``min_gap``), ``decide`` fills them from the page's
  communities and title keywords plus the user's geo/device/interests, the blender places the
  winners. Clicks are drawn from the ground truth of :mod:`feedmix.ads.pctr.ad_log_generator`
  (``examine(slot) * sigmoid(appeal + relevance)``, slot 0 = the page's top ad); the pCTR model is
  trained on a log drawn from the same truth. Impressions and clicks go through
  ``record_impression`` / ``record_click``, so CPM bills at reserve and CPC per click against the
  hard cap ``budget * (1 + tolerance)``; delivered spend is what the counters billed.
* **Budgets.** ``--campaigns N`` generates N ad groups (four per campaign) over the corpus's
  community names with :func:`synthetic_snapshot`; the median daily budget is set from
  ``--demand-rpm`` (USD of median budget per 1,000 page views, all campaigns together), so the
  balance of demand and supply is the same at any traffic size. ``--snapshot FILE`` replays a
  given set (:mod:`feedmix.ads.simulation.simulation_snapshot`) with its own budgets.
* **Ad load vs engagement.** Each ``--load-levels`` value runs a shorter day (``--tradeoff-requests``
  page views, budgets scaled by the traffic ratio so the market keeps its balance) on the same
  pages (common random numbers). Revenue per 1,000 page views is billed spend. Organic engagement
  per page view is ``sum(BehaviorModel.expected_engagement(user, posts, positions))`` where each
  post's position counts the ads placed above it: ads take screen space, so posts slide down the
  ``1 / log2(pos + 2)`` examination curve. Ads' own clicks are not counted as engagement, and the
  model has no "too many ads, user leaves" term, so the engagement loss is a lower bound.

Output: a markdown table per campaign (budget, billed spend, delivery %, impressions, clicks, CTR,
eCPM, throttle, over-cap flag), console charts of cumulative spend against target for the largest
budgets and the most throttled campaign, the trade-off table, optionally a PNG (``--plot``) and the
whole report as JSON (``--out FILE``, ``--out -`` for stdout only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.ads.decision.targeting_index import Snapshot
from feedmix.ads.simulation.simulation_charts import ascii_chart, sparkline, write_png
from feedmix.ads.simulation.simulation_engine import (
    DEFAULT_DAY_START,
    DayResult,
    SimParams,
    build_world,
    hard_cap,
    run_day,
    scale_budgets,
)
from feedmix.ads.simulation.simulation_snapshot import snapshot_from_json
from feedmix.ads.store.model import MICROS
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot
from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus

DEFAULT_LOAD_LEVELS = (0.0, 0.05, 0.1, 0.15, 0.2)
GROUPS_PER_CAMPAIGN = 4
#: campaigns shown in the pacing charts: the largest budgets, plus the most throttled one
CHART_TOP_BUDGETS = 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="feedmix ads simulate",
        description="Simulate a day of traffic through the ad server: delivery, pacing, ad-load trade-off.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--campaigns", type=int, default=200, help="synthetic ad groups (4 per campaign)")
    src.add_argument("--snapshot", type=Path, help="JSON snapshot of campaigns, ad_groups and ads")
    p.add_argument("--requests-per-day", type=int, default=200_000, help="page views in the simulated day")
    p.add_argument("--demand-rpm", type=float, default=15.0, help="synthetic budgets: median USD per 1k PV")
    p.add_argument("--ad-load", type=float, default=0.15, help="max share of a page's items that are ads")
    p.add_argument("--page-size", type=int, default=25, help="organic posts per page")
    p.add_argument("--min-gap", type=int, default=3, help="organic posts between two ads")
    p.add_argument("--users", type=int, default=10_000, help="simulated users")
    p.add_argument("--pctr", choices=("trained", "prior"), default="trained", help="pCTR model of the server")
    p.add_argument(
        "--load-levels",
        default=",".join(str(x) for x in DEFAULT_LOAD_LEVELS),
        help="comma-separated ad loads for the trade-off ('' to skip)",
    )
    p.add_argument("--tradeoff-requests", type=int, default=20_000, help="page views per load level")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", type=Path, help="write the pacing and trade-off charts to this PNG")
    p.add_argument("--out", help="write the JSON report here ('-': print only the JSON to stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return p


def _load_levels(text: str) -> list[float]:
    levels = sorted({float(x) for x in text.split(",") if x.strip()})
    if any(not 0.0 <= x < 1.0 for x in levels):
        raise ValueError("load levels must be in [0, 1)")
    return levels


def campaign_rows(result: DayResult) -> list[dict[str, Any]]:
    """Per campaign delivery, largest budget first (the JSON rows and the table's)."""
    cap = hard_cap(result)
    # traffic-weighted: a bucket's mean serve probability counts by its share of the day's page views
    weights = np.diff(np.concatenate([[0.0], result.target_share]))
    throttle = 1.0 - result.serve_prob_curve @ weights if result.serve_prob_curve.size else None
    rows: list[dict[str, Any]] = []
    for k, cid in enumerate(result.campaign_ids):
        budget, billed = int(result.budget[k]), int(result.billed[k])
        imps, clicks = int(result.impressions[k]), int(result.clicks[k])
        rows.append(
            {
                "campaign_id": cid,
                "budget_usd": budget / MICROS,
                "spend_usd": billed / MICROS,
                "delivery": billed / budget if budget else 0.0,
                "impressions": imps,
                "clicks": clicks,
                "ctr": clicks / imps if imps else 0.0,
                "ecpm_usd": billed / MICROS * 1000.0 / imps if imps else 0.0,
                "unbilled_usd": int(result.unbilled[k]) / MICROS,
                "throttle": float(throttle[k]) if throttle is not None else 0.0,
                "over_cap": bool(billed > cap[k]),
            }
        )
    rows.sort(key=lambda r: (-r["budget_usd"], r["campaign_id"]))
    return rows


def summary(result: DayResult, seconds: float) -> dict[str, Any]:
    pv = max(result.page_views, 1)
    delivery = result.billed / np.maximum(result.budget, 1)
    return {
        "page_views": result.page_views,
        "campaigns": len(result.campaign_ids),
        "budget_usd": int(result.budget.sum()) / MICROS,
        "revenue_usd": result.revenue / MICROS,
        "revenue_per_1k_pv_usd": result.revenue / MICROS * 1000.0 / pv,
        "ad_slots": result.slots,
        "ads_served": result.ads_served,
        "fill_rate": result.ads_served / result.slots if result.slots else 0.0,
        "ad_share_of_items": result.ads_served / result.items_shown if result.items_shown else 0.0,
        "ad_clicks": int(result.clicks.sum()),
        "ad_ctr": int(result.clicks.sum()) / result.ads_served if result.ads_served else 0.0,
        "organic_engagement_per_pv": result.organic_engagement / pv,
        "campaigns_over_cap": int((result.billed > hard_cap(result)).sum()),
        "max_delivery": float(delivery.max()) if delivery.size else 0.0,
        "median_delivery": float(np.median(delivery)) if delivery.size else 0.0,
        "campaigns_delivered_95pct": int((delivery >= 0.95).sum()),
        "unplaced_winners": result.unplaced,
        "seconds": round(seconds, 2),
    }


def chart_campaigns(result: DayResult, rows: list[dict[str, Any]]) -> list[str]:
    """The largest budgets, plus the most throttled campaign if it is not among them."""
    chosen = [r["campaign_id"] for r in rows[:CHART_TOP_BUDGETS]]
    throttled = sorted(rows, key=lambda r: (-r["throttle"], r["campaign_id"]))
    if throttled and throttled[0]["throttle"] > 0 and throttled[0]["campaign_id"] not in chosen:
        chosen.append(throttled[0]["campaign_id"])
    return chosen


def pacing_report(result: DayResult, chosen: list[str]) -> dict[str, Any]:
    pos = {c: k for k, c in enumerate(result.campaign_ids)}
    out = []
    for cid in chosen:
        k = pos[cid]
        budget = max(int(result.budget[k]), 1)
        out.append(
            {
                "campaign_id": cid,
                "budget_usd": int(result.budget[k]) / MICROS,
                "spend_usd": (result.spend_curve[k] / MICROS).round(4).tolist(),
                "spend_share": (result.spend_curve[k] / budget).round(5).tolist(),
                "serve_prob": result.serve_prob_curve[k].round(4).tolist(),
            }
        )
    return {
        "bucket_end_s": result.bucket_end_s.tolist(),
        "target_share": result.target_share.round(5).tolist(),
        "campaigns": out,
    }


def tradeoff_row(level: float, result: DayResult, base_engagement: float | None) -> dict[str, Any]:
    pv = max(result.page_views, 1)
    eng = result.organic_engagement / pv
    return {
        "ad_load": level,
        "page_views": result.page_views,
        "ads_per_pv": result.ads_served / pv,
        "ad_share_of_items": result.ads_served / result.items_shown if result.items_shown else 0.0,
        "revenue_per_1k_pv_usd": result.revenue / MICROS * 1000.0 / pv,
        "organic_engagement_per_pv": eng,
        "engagement_change": (eng / base_engagement - 1.0) if base_engagement else 0.0,
        "campaigns_over_cap": int((result.billed > hard_cap(result)).sum()),
    }


def render_text(report: dict[str, Any]) -> str:
    """The markdown tables and console charts printed to stdout."""
    s = report["summary"]
    lines = [
        f"## Delivery against budget ({s['page_views']:,} page views, {s['campaigns']} campaigns)",
        "",
        "| campaign | budget $ | spend $ | delivery | impressions | clicks | CTR | eCPM $ | throttle "
        "| over cap |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["campaigns"]:
        lines.append(
            f"| {r['campaign_id']} | {r['budget_usd']:,.2f} | {r['spend_usd']:,.2f} | {r['delivery']:.1%} "
            f"| {r['impressions']:,} | {r['clicks']:,} | {r['ctr']:.2%} | {r['ecpm_usd']:.2f} "
            f"| {r['throttle']:.0%} | {'**YES**' if r['over_cap'] else 'no'} |"
        )
    lines += [
        "",
        f"Revenue ${s['revenue_usd']:,.2f} of ${s['budget_usd']:,.2f} budget "
        f"(${s['revenue_per_1k_pv_usd']:.2f} per 1,000 page views); {s['ads_served']:,} ads in "
        f"{s['ad_slots']:,} slots (fill {s['fill_rate']:.1%}, {s['ad_share_of_items']:.1%} of items), "
        f"ad CTR {s['ad_ctr']:.2%}; median delivery {s['median_delivery']:.1%}, "
        f"{s['campaigns_delivered_95pct']} campaigns at >= 95%; campaigns over budget x (1 + tolerance): "
        f"{s['campaigns_over_cap']}.",
        "",
        "## Pacing: cumulative spend (*) vs target (.) as a share of the daily budget",
    ]
    for c in report["pacing"]["campaigns"]:
        final = c["spend_share"][-1] if c["spend_share"] else 0.0
        lines += ["", f"{c['campaign_id']}  budget ${c['budget_usd']:,.2f}  delivered {final:.1%}"]
        lines += ascii_chart(c["spend_share"], report["pacing"]["target_share"])
        lines.append(f"serve p |{sparkline(c['serve_prob'])}|")
    if report["tradeoff"]:
        lines += [
            "",
            "## Ad load vs engagement",
            "",
            "| max ad load | ads / PV | ad share | revenue / 1k PV $ | organic engagement / PV | change |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for r in report["tradeoff"]:
            lines.append(
                f"| {r['ad_load']:.0%} | {r['ads_per_pv']:.2f} | {r['ad_share_of_items']:.1%} "
                f"| {r['revenue_per_1k_pv_usd']:.2f} | {r['organic_engagement_per_pv']:.4f} "
                f"| {r['engagement_change']:+.2%} |"
            )
    return "\n".join(lines)


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Run the main day and the trade-off levels; the report as a JSON-ready dict."""
    t0 = time.perf_counter()
    levels = _load_levels(args.load_levels)
    corpus = RedditCorpus.load(FeedmixConfig().posts_path())
    snapshot: Snapshot
    if args.snapshot is not None:
        snapshot = snapshot_from_json(json.loads(args.snapshot.read_text()))
    else:
        n_campaigns = -(-args.campaigns // GROUPS_PER_CAMPAIGN)
        median = args.demand_rpm * args.requests_per_day / 1000.0 / max(n_campaigns, 1)
        snapshot = synthetic_snapshot(
            args.campaigns,
            corpus.communities,
            now=DEFAULT_DAY_START,
            seed=args.seed,
            groups_per_campaign=GROUPS_PER_CAMPAIGN,
            daily_budget_usd=median,
        )
    world = build_world(corpus, snapshot, n_users=args.users, seed=args.seed, pctr=args.pctr)
    params = SimParams(
        requests=args.requests_per_day,
        ad_load=args.ad_load,
        page_size=args.page_size,
        min_gap=args.min_gap,
        seed=args.seed,
    )
    progress = not args.no_progress
    t_day = time.perf_counter()
    result = run_day(world, snapshot, params, progress=progress, label="day")
    day_seconds = time.perf_counter() - t_day
    rows = campaign_rows(result)

    tradeoff: list[dict[str, Any]] = []
    if levels and args.tradeoff_requests > 0:
        small = scale_budgets(snapshot, args.tradeoff_requests / max(args.requests_per_day, 1))
        base: float | None = None
        for level in levels:
            p = SimParams(
                requests=args.tradeoff_requests,
                ad_load=level,
                page_size=args.page_size,
                min_gap=args.min_gap,
                seed=args.seed,
            )
            r = run_day(world, small, p, progress=progress, label=f"load {level:.0%}")
            row = tradeoff_row(level, r, base)
            if base is None:
                base = row["organic_engagement_per_pv"]
                row["engagement_change"] = 0.0
            tradeoff.append(row)

    report: dict[str, Any] = {
        "config": {
            "requests_per_day": args.requests_per_day,
            "campaigns_arg": args.campaigns if args.snapshot is None else None,
            "snapshot": str(args.snapshot) if args.snapshot is not None else None,
            "demand_rpm": args.demand_rpm,
            "ad_load": args.ad_load,
            "page_size": args.page_size,
            "min_gap": args.min_gap,
            "users": args.users,
            "pctr": args.pctr,
            "seed": args.seed,
            "load_levels": levels,
            "tradeoff_requests": args.tradeoff_requests,
            "overspend_tolerance": params.overspend_tolerance,
            "day_start": params.day_start,
        },
        "summary": summary(result, day_seconds),
        "campaigns": rows,
        "pacing": pacing_report(result, chart_campaigns(result, rows)),
        "tradeoff": tradeoff,
    }
    report["summary"]["total_seconds"] = round(time.perf_counter() - t0, 2)
    return report


def main(argv: list[str] | None = None) -> int:
    """CLI entry (``feedmix ads simulate``); returns 0, or 2 on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.requests_per_day < 1 or args.page_size < 1 or args.users < 1:
            raise ValueError("--requests-per-day, --page-size and --users must be positive")
        report = simulate(args)
    except (ValueError, OSError, json.JSONDecodeError) as exc:
        print(f"feedmix ads simulate: {exc}", file=sys.stderr)
        return 2
    if args.plot is not None:
        write_png(args.plot, report)
    text = json.dumps(report, indent=2)
    if args.out == "-":
        print(text)
        return 0
    print(render_text(report))
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.plot is not None:
        print(f"\nwrote {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
