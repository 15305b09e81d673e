"""The metrics an experiment may name as primary or guardrail, defined once.

Each event metric is computed per exposed unit from the events the unit caused after its first
exposure (and, for CUPED, the same quantity before it); request metrics come from the serving
processes' per-variant request counts. A *mean* metric averages a per-unit value; a *ratio*
metric divides two sums (CTR: clicks over impressions) and is analysed with the delta method,
because its unit of analysis (an impression) is not the unit that was randomised (a user).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricDef:
    name: str
    #: ``request``: counted per request by the serving processes, not from the event log
    kind: Literal["mean", "ratio", "request"]
    #: what is summed per unit (the numerator of a ratio): event types, or the derived ``page_view``
    #: and ``ad_revenue`` of :mod:`feedmix.experiments.analysis`
    numerator: tuple[str, ...]
    #: a ratio's denominator event types
    denominator: tuple[str, ...] = ()
    #: +1 when more is better (engagement), -1 when less is better (hides): guardrails use it
    direction: int = 1
    description: str = ""
    #: the units it is measured on: users' (and requests') events, or campaigns' ad outcomes
    units: tuple[str, ...] = ("user", "request")


METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in (
        MetricDef(
            "engagement_per_user",
            "mean",
            ("click", "upvote", "comment"),
            description="clicks, upvotes and comments per exposed user",
        ),
        MetricDef("clicks_per_user", "mean", ("click",), description="clicks per exposed user"),
        MetricDef("upvotes_per_user", "mean", ("upvote",), description="upvotes per exposed user"),
        MetricDef("impressions_per_user", "mean", ("impression",), description="posts seen per exposed user"),
        MetricDef("hides_per_user", "mean", ("hide",), direction=-1, description="hides per exposed user"),
        MetricDef(
            "ctr",
            "ratio",
            ("click",),
            ("impression",),
            description="clicks per impression over the arm (delta method: users were randomised)",
        ),
        MetricDef(
            "page_views_per_user",
            "mean",
            ("page_view",),
            description="feed pages with at least one impression per exposed user",
        ),
        MetricDef(
            "ad_revenue_per_1k_page_views",
            "ratio",
            ("ad_revenue",),
            ("page_view",),
            description="billed ad revenue (USD) per 1,000 page views over the arm (delta method)",
        ),
        MetricDef(
            "ad_revenue_per_campaign",
            "mean",
            ("ad_revenue",),
            description="billed ad revenue (USD x 1000) per exposed campaign",
            units=("campaign",),
        ),
        MetricDef(
            "ad_clicks_per_campaign",
            "mean",
            ("ad_click",),
            description="tracked ad clicks per exposed campaign",
            units=("campaign",),
        ),
        MetricDef(
            "ad_ctr",
            "ratio",
            ("ad_click",),
            ("ad_impression",),
            description="ad clicks per tracked ad impression over the arm's campaigns (delta method)",
            units=("campaign",),
        ),
        MetricDef(
            "latency_p99_ms",
            "request",
            (),
            direction=-1,
            description="99th percentile of the pipeline's wall time per request (bootstrap over requests)",
        ),
        MetricDef(
            "error_rate",
            "request",
            (),
            direction=-1,
            description="share of requests served degraded (a component failed, timed out or fell back)",
        ),
        MetricDef(
            "hide_rate",
            "ratio",
            ("hide",),
            ("impression",),
            direction=-1,
            description="hides per impression over the arm (delta method)",
        ),
    )
}
