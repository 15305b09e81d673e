"""The shadow report: every way the candidate's pages differ from production's, beside the noise.

Each metric is computed twice over the same kind of pairs: production against the candidate, and
production against the noise arm (production's own config rerun with another seed). That is Diffy's
idea (Twitter, 2015: run a candidate, the primary and a secondary copy of the primary, and read the
candidate's differences against the primary's differences with itself): a ranking with random
exploration slots, time-decayed scores and sampled sources never matches itself exactly, and
without the noise column nobody can tell whether RBO 0.93 is a change or just the system's own
jitter. The gates (`feedmix.shadow.gates`) can therefore bound a metric relative to its noise.

Which requests feed which metrics, and why:

* a metric's "candidate" column uses the records holding both the baseline and the candidate arm;
  its "noise" column uses the records holding both the baseline and the noise arm (the noise arm
  may run on a smaller sample); its "baseline" column (per-arm levels only) uses the former;
* quality metrics (ranking, distributions, content, ads) use only the pairs where neither arm
  errored: an errored arm's empty page would read as "total disagreement" and drown the real
  differences, while the error itself is counted once, in ``error_rate``; degraded pages (served,
  but with a component failed open) are kept, because that is what users would see;
* cost and reliability metrics (latency, CPU, errors, degraded) use all pairs.

Parameters and thresholds: RBO with ``p = 0.9`` (`rank_agreement.DEFAULT_P`); Jaccard at 10 and 25;
PSI and JS on 10 production-quantile bins, with PSI read as < 0.1 no shift, 0.1-0.25 moderate,
> 0.25 major (`distribution_shift`); the markdown marks moderate and major PSI values. Latency
deltas are differences of the arms' quantiles (p50, p99 of each arm), not quantiles of per-request
differences: the SLO is on each arm's distribution. Prices are the auctions' ``price_micros``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from feedmix.shadow.distribution_shift import (
    DEFAULT_BINS,
    PSI_MAJOR,
    PSI_MODERATE,
    categorical_js,
    category_shares,
    histogram,
    psi_level,
    quantile_edges,
    shift,
)
from feedmix.shadow.rank_agreement import DEFAULT_P, jaccard_at, kendall_tau_shared, rbo, top_kept
from feedmix.shadow.record import ArmOutput, ShadowRecord

SCHEMA = "feedmix.shadow.report/1"

#: report columns: the two comparisons, and the baseline's own level for per-arm metrics
SIDES = ("candidate", "noise")

#: a row's ``kind``: what its values are
AGREEMENT = "agreement"  # similarity of the pair, in [0, 1] (tau in [-1, 1]); 1 = identical
DIVERGENCE = "divergence"  # distance between the pair's distributions; 0 = identical
LEVEL = "level"  # the arm's own value; "baseline" holds production's
DELTA = "delta"  # arm minus baseline, in the metric's unit; 0 = identical
UNCERTAINTY = "uncertainty"  # how much of an agreement value is undetermined

#: a row's ``closer``: which way a value means "closer to production"
HIGHER, LOWER, ZERO, BASELINE = "higher", "lower", "zero", "baseline"

GROUPS: tuple[tuple[str, str], ...] = (
    ("ranking", "Ranking agreement"),
    ("distribution", "Score, feature and prediction distributions"),
    ("content", "Page content"),
    ("ads", "Ads"),
    ("cost", "Latency and CPU"),
    ("reliability", "Errors and degraded responses"),
)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What a row is, independent of its values: enough for a page to render and a gate to read."""

    name: str
    group: str
    kind: str
    unit: str
    closer: str | None
    description: str


def _spec(name: str, group: str, kind: str, unit: str, closer: str | None, description: str) -> MetricSpec:
    return MetricSpec(name, group, kind, unit, closer, description)


#: every metric that every report has, in display order
STATIC_METRICS: tuple[MetricSpec, ...] = (
    _spec("rbo", "ranking", AGREEMENT, "", HIGHER, "mean RBO_ext (p=0.9) of the organic pages"),
    _spec("rbo_p50", "ranking", AGREEMENT, "", HIGHER, "median RBO_ext over requests"),
    _spec(
        "rbo_residual", "ranking", UNCERTAINTY, "", None, "mean RBO residual: weight of ranks beyond the page"
    ),
    _spec("jaccard@10", "ranking", AGREEMENT, "", HIGHER, "mean Jaccard of the top 10 sets"),
    _spec("jaccard@25", "ranking", AGREEMENT, "", HIGHER, "mean Jaccard of the top 25 sets"),
    _spec("kendall_tau", "ranking", AGREEMENT, "", HIGHER, "mean Kendall tau-b over shared items"),
    _spec("top10_kept", "ranking", AGREEMENT, "", HIGHER, "share of production's top 10 still on the page"),
    _spec("score_psi", "distribution", DIVERGENCE, "psi", LOWER, "PSI of pooled item scores"),
    _spec("score_js", "distribution", DIVERGENCE, "bits", LOWER, "JS divergence of pooled item scores"),
    _spec("source_mix_js", "content", DIVERGENCE, "bits", LOWER, "JS divergence of the items' source mix"),
    _spec(
        "community_mix_js", "content", DIVERGENCE, "bits", LOWER, "JS divergence of the items' community mix"
    ),
    _spec(
        "community_concentration",
        "content",
        LEVEL,
        "hhi",
        BASELINE,
        "mean per-page Herfindahl index over communities",
    ),
    _spec("community_concentration_delta", "content", DELTA, "hhi", ZERO, "arm minus production"),
    _spec("nsfw_share", "content", LEVEL, "ratio", BASELINE, "share of organic items flagged NSFW"),
    _spec("nsfw_share_delta", "content", DELTA, "ratio", ZERO, "arm minus production"),
    _spec("ad_load", "ads", LEVEL, "ratio", BASELINE, "mean ads / page_size"),
    _spec("ad_load_delta", "ads", DELTA, "ratio", ZERO, "arm minus production"),
    _spec(
        "ad_winner_agreement",
        "ads",
        AGREEMENT,
        "",
        HIGHER,
        "share of production's ad slots with the same ad group at the same slot",
    ),
    _spec("price_delta_micros", "ads", DELTA, "micros", ZERO, "mean price difference on agreed slots"),
    _spec("revenue_per_page", "ads", LEVEL, "micros", BASELINE, "mean sum of ad prices per page"),
    _spec("revenue_per_page_delta", "ads", DELTA, "micros", ZERO, "arm minus production, per page"),
    _spec("latency_p50_ms", "cost", LEVEL, "ms", BASELINE, "median pipeline latency"),
    _spec("latency_p50_delta_ms", "cost", DELTA, "ms", ZERO, "arm p50 minus production p50"),
    _spec("latency_p99_ms", "cost", LEVEL, "ms", BASELINE, "99th percentile pipeline latency"),
    _spec("latency_p99_delta_ms", "cost", DELTA, "ms", ZERO, "arm p99 minus production p99"),
    _spec("cpu_per_request_ms", "cost", LEVEL, "ms", BASELINE, "mean CPU time per request"),
    _spec("cpu_per_request_delta_ms", "cost", DELTA, "ms", ZERO, "arm minus production"),
    _spec("error_rate", "reliability", LEVEL, "ratio", BASELINE, "share of requests with an error"),
    _spec("error_rate_delta", "reliability", DELTA, "ratio", ZERO, "arm minus production"),
    _spec("degraded_rate", "reliability", LEVEL, "ratio", BASELINE, "share of degraded responses"),
    _spec("degraded_rate_delta", "reliability", DELTA, "ratio", ZERO, "arm minus production"),
)
STATIC_NAMES = frozenset(s.name for s in STATIC_METRICS)

#: metrics named per column, head or source: "feature_psi:<column>" and so on. Which of them a report
#: has depends on its records, so a gate may name one that a report lacks (it is then missing).
FAMILIES: dict[str, tuple[str, str, str, str | None, str]] = {
    "feature_psi": ("distribution", DIVERGENCE, "psi", LOWER, "PSI of feature {}"),
    "feature_js": ("distribution", DIVERGENCE, "bits", LOWER, "JS divergence of feature {}"),
    "prediction_psi": ("distribution", DIVERGENCE, "psi", LOWER, "PSI of prediction head {}"),
    "prediction_js": ("distribution", DIVERGENCE, "bits", LOWER, "JS divergence of prediction head {}"),
    "source_share": ("content", LEVEL, "ratio", BASELINE, "share of organic items from source {}"),
}


def family_spec(name: str) -> MetricSpec | None:
    """The spec of a per-column metric name such as ``feature_psi:ctr_7d``; None if not one."""
    family, sep, member = name.partition(":")
    if not sep or not member or family not in FAMILIES:
        return None
    group, kind, unit, closer, description = FAMILIES[family]
    return MetricSpec(name, group, kind, unit, closer, description.format(member))


def is_known_metric(name: str) -> bool:
    """Whether ``name`` is a metric a report can have (static, or a member of a family)."""
    return name in STATIC_NAMES or family_spec(name) is not None


Pair = tuple[ArmOutput, ArmOutput]
_RankFn = Callable[[Sequence[str], Sequence[str]], float | None]
_Columns = Callable[[ArmOutput], Mapping[str, tuple[float, ...]]]


@dataclass
class _Side:
    """The values of one comparison (baseline vs one arm): the arm's values and the baseline's levels."""

    values: dict[str, float | None] = field(default_factory=dict)
    base_levels: dict[str, float | None] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)

    def put(self, name: str, value: float | None, n: int, base: float | None = None) -> None:
        self.values[name] = _finite(value)
        self.base_levels[name] = _finite(base)
        self.n[name] = n

    def level(self, name: str, base: float | None, arm: float | None, n: int, *, delta: str) -> None:
        """A per-arm level and its delta (arm minus baseline) in one go."""
        self.put(name, arm, n, base)
        d = None if base is None or arm is None else arm - base
        self.put(delta, d, n)


def compare(
    records: Iterable[ShadowRecord],
    candidate: str = "candidate",
    baseline: str = "production",
    noise: str = "noise",
    *,
    p: float = DEFAULT_P,
    bins: int = DEFAULT_BINS,
) -> dict[str, Any]:
    """Compare ``candidate`` and ``noise`` against ``baseline`` over the records; JSON-ready.

    Shape (see `rows` and `to_markdown` for rendering)::

        {"schema": "feedmix.shadow.report/1",
         "arms": {"baseline": "production", "candidate": "candidate", "noise": "noise"},
         "records": 1200, "requests": 1000, "requests_with_noise": 500,
         "ok_requests": {"candidate": 990, "noise": 500},     # pairs where neither arm errored
         "parameters": {"rbo_p": 0.9, "bins": 10, "psi_moderate": 0.1, "psi_major": 0.25},
         "groups": [{"id": "ranking", "title": "Ranking agreement"}, ...],
         "metrics": {"rbo": {"group": "ranking", "kind": "agreement", "unit": "", "closer": "higher",
                             "description": "...", "baseline": None, "candidate": 0.91,
                             "noise": 0.95, "n": {"candidate": 990, "noise": 500}}, ...}}

    ``metrics`` is in display order. Every value is a float or None (no data: no ads on any page,
    no noise arm, a feature one arm lacks); None is never replaced by 0, so a gate can tell "no
    difference" from "nothing measured".
    """
    recs = list(records)
    cand_pairs = _pairs(recs, baseline, candidate)
    noise_pairs = _pairs(recs, baseline, noise)
    sides = {"candidate": _measure(cand_pairs, p, bins), "noise": _measure(noise_pairs, p, bins)}

    names = [s.name for s in STATIC_METRICS]
    dynamic = sorted(
        {k for side in sides.values() for k in side.values if k not in STATIC_NAMES}, key=_dynamic_order
    )
    ordered = names + dynamic
    metrics: dict[str, dict[str, Any]] = {}
    for name in ordered:
        spec = _spec_of(name)
        metrics[name] = {
            "group": spec.group,
            "kind": spec.kind,
            "unit": spec.unit,
            "closer": spec.closer,
            "description": spec.description,
            "baseline": sides["candidate"].base_levels.get(name) if spec.kind == LEVEL else None,
            "candidate": sides["candidate"].values.get(name),
            "noise": sides["noise"].values.get(name),
            # how many values the metric is over: requests (ad slots for price_delta_micros)
            "n": {side: sides[side].n.get(name, 0) for side in SIDES},
        }
    # group order first, keeping the order above within a group
    group_rank = {g: i for i, (g, _) in enumerate(GROUPS)}
    metrics = dict(sorted(metrics.items(), key=lambda kv: group_rank[kv[1]["group"]]))
    return {
        "schema": SCHEMA,
        "arms": {"baseline": baseline, "candidate": candidate, "noise": noise},
        "records": len(recs),
        "requests": len(cand_pairs),
        "requests_with_noise": len(noise_pairs),
        "ok_requests": {"candidate": len(_ok(cand_pairs)), "noise": len(_ok(noise_pairs))},
        "parameters": {"rbo_p": p, "bins": bins, "psi_moderate": PSI_MODERATE, "psi_major": PSI_MAJOR},
        "groups": [{"id": g, "title": t} for g, t in GROUPS],
        "metrics": metrics,
    }


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's metrics as a list of flat rows (``{"metric": name, **fields}``), in display order:
    what a console table or a CSV export iterates over."""
    return [{"metric": name, **fields} for name, fields in report["metrics"].items()]


def to_markdown(report: dict[str, Any]) -> str:
    """A markdown rendering: one table per group, arms as columns, PSI levels marked."""
    arms = report["arms"]
    lines = [
        f"# Shadow report: {arms['candidate']} vs {arms['baseline']}",
        "",
        f"{report['requests']} requests compared ({report['ok_requests']['candidate']} without errors), "
        f"{report['requests_with_noise']} with the noise arm `{arms['noise']}` "
        f"({report['ok_requests']['noise']} without errors).",
        "PSI: < 0.1 no shift, 0.1-0.25 moderate (*), > 0.25 major (**). "
        "Closer: which way a value means closer to production.",
    ]
    all_rows = rows(report)
    for group in report["groups"]:
        group_rows = [r for r in all_rows if r["group"] == group["id"]]
        if not group_rows:
            continue
        lines += [
            "",
            f"## {group['title']}",
            "",
            f"| metric | {arms['baseline']} | {arms['candidate']} | {arms['noise']} | unit | closer | n |",
            "|---|---:|---:|---:|---|---|---:|",
        ]
        for r in group_rows:
            cells = [_cell(r.get(col), r) for col in ("baseline", "candidate", "noise")]
            n = f"{r['n']['candidate']} / {r['n']['noise']}"
            lines.append(
                f"| {_escape(r['metric'])} | {' | '.join(cells)} | {r['unit']} | {r['closer'] or ''} | {n} |"
            )
    return "\n".join(lines) + "\n"


def distributions(
    records: Sequence[ShadowRecord],
    baseline: str = "production",
    arms: Sequence[str] = ("candidate", "noise"),
    bins: int = DEFAULT_BINS,
) -> dict[str, dict[str, Any]]:
    """What the console draws: per value (``score``, ``prediction:<head>``), the baseline's quantile bins
    and each arm's share of its page items in them, over the requests where no arm errored. The same
    bins as the PSI of the report, so the picture and the number agree."""
    ok = [r for r in records if baseline in r.arms and all(a.error is None for a in r.arms.values())]
    if not ok:
        return {}

    def head_of(head: str) -> Callable[[ArmOutput], Sequence[float]]:
        return lambda a: a.predictions.get(head, ())

    columns: dict[str, Callable[[ArmOutput], Sequence[float]]] = {"score": lambda a: a.scores}
    for head in sorted({h for r in ok for h in r.arms[baseline].predictions}):
        columns[f"prediction:{head}"] = head_of(head)
    out: dict[str, dict[str, Any]] = {}
    for name, values_of in columns.items():
        ref = np.asarray([v for r in ok for v in values_of(r.arms[baseline])], dtype=np.float64)
        edges = quantile_edges(ref, bins) if ref.size else np.empty(0)
        if edges.size == 0:
            continue
        shares = {baseline: histogram(ref, edges, nan_bin=False).tolist()}
        for arm in arms:
            vals = np.asarray(
                [v for r in ok if arm in r.arms for v in values_of(r.arms[arm])], dtype=np.float64
            )
            vals = vals[np.isfinite(vals)]
            if vals.size:
                shares[arm] = histogram(vals, edges, nan_bin=False).tolist()
        out[name] = {"edges": edges.tolist(), "shares": shares}
    return out


# ---------------------------------------------------------------------------------------------------
# measurement


def _pairs(records: Sequence[ShadowRecord], baseline: str, other: str) -> list[Pair]:
    return [(r.arms[baseline], r.arms[other]) for r in records if baseline in r.arms and other in r.arms]


def _ok(pairs: list[Pair]) -> list[Pair]:
    return [(b, o) for b, o in pairs if b.error is None and o.error is None]


def _measure(pairs: list[Pair], p: float, bins: int) -> _Side:
    side = _Side()
    ok = _ok(pairs)
    _ranking(side, ok, p)
    _distributions(side, ok, bins)
    _content(side, ok)
    _ads(side, ok)
    _cost(side, pairs)
    return side


def _ranking(side: _Side, ok: list[Pair], p: float) -> None:
    scores = [rbo(b.item_ids, o.item_ids, p) for b, o in ok]
    rbos = [s for s in scores if s is not None]
    ext = [s.ext for s in rbos]
    side.put("rbo", _mean(ext), len(ext))
    side.put("rbo_p50", _quantile(ext, 0.5), len(ext))
    side.put("rbo_residual", _mean([s.residual for s in rbos]), len(rbos))
    per_request: list[tuple[str, _RankFn]] = [
        ("jaccard@10", lambda a, b: jaccard_at(a, b, 10)),
        ("jaccard@25", lambda a, b: jaccard_at(a, b, 25)),
        ("kendall_tau", kendall_tau_shared),
        ("top10_kept", lambda a, b: top_kept(a, b, 10)),
    ]
    for name, fn in per_request:
        values = _defined(fn(b.item_ids, o.item_ids) for b, o in ok)
        side.put(name, _mean(values), len(values))


def _distributions(side: _Side, ok: list[Pair], bins: int) -> None:
    _shift_pair(side, "score", [b.scores for b, _ in ok], [o.scores for _, o in ok], len(ok), bins)
    families: list[tuple[str, _Columns]] = [
        ("feature", lambda a: a.features),
        ("prediction", lambda a: a.predictions),
    ]
    for family, get in families:
        columns = sorted({c for b, o in ok for c in (*get(b), *get(o))})
        for col in columns:
            base = [get(b)[col] for b, _ in ok if col in get(b)]
            other = [get(o)[col] for _, o in ok if col in get(o)]
            n = sum(1 for b, o in ok if col in get(b) and col in get(o))
            _shift_pair(side, f"{family}:{col}", base, other, n, bins)


def _shift_pair(
    side: _Side, name: str, base: list[tuple[float, ...]], other: list[tuple[float, ...]], n: int, bins: int
) -> None:
    """PSI and JS of pooled per-item values; the names are ``<name>_psi`` or ``<family>_psi:<col>``."""
    family, _, col = name.partition(":")
    psi_name = f"{family}_psi:{col}" if col else f"{family}_psi"
    js_name = f"{family}_js:{col}" if col else f"{family}_js"
    b = np.fromiter((v for t in base for v in t), dtype=np.float64)
    o = np.fromiter((v for t in other for v in t), dtype=np.float64)
    if b.size == 0 or o.size == 0:
        side.put(psi_name, None, 0)
        side.put(js_name, None, 0)
        return
    s = shift(b, o, bins)
    side.put(psi_name, s.psi, n)
    side.put(js_name, s.js, n)


def _content(side: _Side, ok: list[Pair]) -> None:
    n = len(ok)
    base_sources = [s for b, _ in ok for s in b.sources]
    other_sources = [s for _, o in ok for s in o.sources]
    both = bool(base_sources and other_sources)
    if both:
        base_shares, other_shares = category_shares(base_sources), category_shares(other_sources)
        for src in sorted(base_shares.keys() | other_shares.keys()):
            side.put(f"source_share:{src}", other_shares.get(src, 0.0), n, base_shares.get(src, 0.0))
    side.put("source_mix_js", categorical_js(base_sources, other_sources) if both else None, n)
    base_comm = [c for b, _ in ok for c in b.communities]
    other_comm = [c for _, o in ok for c in o.communities]
    both = bool(base_comm and other_comm)
    side.put("community_mix_js", categorical_js(base_comm, other_comm) if both else None, n)

    hhi = [(_hhi(b.communities), _hhi(o.communities)) for b, o in ok]
    side.level(
        "community_concentration",
        _mean(_defined(h for h, _ in hhi)),
        _mean(_defined(h for _, h in hhi)),
        n,
        delta="community_concentration_delta",
    )
    side.level(
        "nsfw_share",
        _share(x for b, _ in ok for x in b.nsfw),
        _share(x for _, o in ok for x in o.nsfw),
        n,
        delta="nsfw_share_delta",
    )


def _ads(side: _Side, ok: list[Pair]) -> None:
    n = len(ok)
    loads = [(_ad_load(b), _ad_load(o)) for b, o in ok]
    side.level(
        "ad_load",
        _mean(_defined(x for x, _ in loads)),
        _mean(_defined(x for _, x in loads)),
        n,
        delta="ad_load_delta",
    )
    slots = 0
    price_deltas: list[float] = []
    for b, o in ok:
        other_at = {a.slot: a for a in o.ads}
        for ad in b.ads:
            slots += 1
            match = other_at.get(ad.slot)
            if match is not None and match.ad_group_id == ad.ad_group_id:
                price_deltas.append(float(match.price_micros - ad.price_micros))
    side.put("ad_winner_agreement", len(price_deltas) / slots if slots else None, n)
    side.put("price_delta_micros", _mean(price_deltas), len(price_deltas))
    revenue = [(_revenue(b), _revenue(o)) for b, o in ok]
    side.level(
        "revenue_per_page",
        _mean([r for r, _ in revenue]),
        _mean([r for _, r in revenue]),
        n,
        delta="revenue_per_page_delta",
    )


def _cost(side: _Side, pairs: list[Pair]) -> None:
    n = len(pairs)
    base_lat = [b.latency_ms for b, _ in pairs]
    other_lat = [o.latency_ms for _, o in pairs]
    for q, name in ((0.5, "latency_p50"), (0.99, "latency_p99")):
        side.level(
            f"{name}_ms",
            _quantile(base_lat, q),
            _quantile(other_lat, q),
            n,
            delta=f"{name}_delta_ms",
        )
    side.level(
        "cpu_per_request_ms",
        _mean([b.cpu_ms for b, _ in pairs]),
        _mean([o.cpu_ms for _, o in pairs]),
        n,
        delta="cpu_per_request_delta_ms",
    )
    for name, failed in (("error_rate", _errored), ("degraded_rate", _degraded)):
        side.level(
            name,
            _share(failed(b) for b, _ in pairs),
            _share(failed(o) for _, o in pairs),
            n,
            delta=f"{name}_delta",
        )


def _errored(arm: ArmOutput) -> bool:
    return arm.error is not None


def _degraded(arm: ArmOutput) -> bool:
    return arm.degraded


def _hhi(communities: Sequence[str]) -> float | None:
    """Herfindahl-Hirschman index of one page: sum of squared community shares, 1/k..1.

    1 means one community fills the page; the per-community cap in production keeps it low, so a
    candidate that raises it is one whose pages read as a single subreddit.
    """
    if not communities:
        return None
    return sum(s * s for s in category_shares(communities).values())


def _ad_load(arm: ArmOutput) -> float | None:
    return len(arm.ads) / arm.page_size if arm.page_size > 0 else None


def _revenue(arm: ArmOutput) -> float:
    return float(sum(a.price_micros for a in arm.ads))


def _defined(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _mean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.quantile(finite, q)) if finite else None


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _dynamic_order(name: str) -> tuple[str, str, int]:
    """Features, then predictions, then sources; by member; a member's PSI just before its JS."""
    family, _, member = name.partition(":")
    kind, _, measure = family.rpartition("_")
    return (kind or family, member, 0 if measure == "psi" else 1)


def _spec_of(name: str) -> MetricSpec:
    for spec in STATIC_METRICS:
        if spec.name == name:
            return spec
    fam = family_spec(name)
    if fam is None:  # pragma: no cover - compare only produces known names
        raise KeyError(name)
    return fam


# ---------------------------------------------------------------------------------------------------
# markdown


def _cell(value: float | None, row: dict[str, Any]) -> str:
    if value is None:
        return "–"
    unit, kind = row["unit"], row["kind"]
    sign = "+" if kind == DELTA and value > 0 else ""
    if unit == "micros":
        text = f"{sign}{value:,.0f}"
    elif unit == "ms":
        text = f"{sign}{value:.2f}"
    else:
        text = f"{sign}{value:.4f}"
    if text.lstrip("+-").strip("0.,") == "":
        text = text.lstrip("+-")  # a value that rounds to zero shows no sign
    if unit == "psi":
        text += {"none": "", "moderate": " *", "major": " **"}[psi_level(value)]
    return text


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
