"""The signal registry: every signal a versioned definition (what it means, who owns it, who reads it,
what it promises), joined at read time with what produces it now (the production tier's newest model and
its lineage) and what was last measured of it (eval, bench and backfill reports in the state folder).

A definition names the codebook digest it was written against; ``tests/signals/test_registry.py`` fails
when the codebook or its additions change and the definitions were not given a new version with the new
digest, so a changed meaning is always a new version.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from feedmix.signals.codebook import codebook_digest

STATUSES = ("experimental", "production", "deprecated")
CODEBOOK_DIGEST = "fdcc57f483a14cc4"


@dataclass(frozen=True)
class SignalSLO:
    """What a signal promises. Quality is on the dev set's high-confidence test part."""

    coverage_min: float = 0.99  # share of corpus posts with a value from the production tier
    label_within_s: float = 5.0  # a new post has a value this many seconds after it arrives (p95)
    latency_p99_ms: float = 5.0  # per post, unbatched, production tier, one core
    quality_metric: str = "macro_f1"
    quality_min: float = 0.6
    judge_kappa_min: float = 0.6  # agreement of the production tier with the judge on a daily sample
    psi_max: float = 0.2  # label distribution against the previous week
    usd_per_1k_posts_max: float = 0.001


@dataclass(frozen=True)
class SignalDefinition:
    name: str
    version: str
    status: str
    owner: str
    description: str
    labels: tuple[str, ...]
    consumers: tuple[str, ...]
    slo: SignalSLO = field(default_factory=SignalSLO)
    codebook_digest: str = CODEBOOK_DIGEST
    producer_tier: str = "student"

    def __post_init__(self) -> None:
        parts = self.version.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(
                f"signal {self.name}: version {self.version!r} is not semver (MAJOR.MINOR.PATCH)"
            )
        if self.status not in STATUSES:
            raise ValueError(f"signal {self.name}: status {self.status!r} is not one of {STATUSES}")


_OWNER = "content-signals"
DEFINITIONS: tuple[SignalDefinition, ...] = (
    SignalDefinition(
        "intent",
        "1.0.0",
        "production",
        _OWNER,
        "what the author wants: review, recommendation_request, recommendation, comparison, question, none",
        ("review", "recommendation_request", "recommendation", "comparison", "question", "none"),
        (
            "ads contextual targeting (intent rule)",
            "insights (intent mix)",
            "ranker features (post_signals.*)",
        ),
        SignalSLO(quality_metric="macro_f1", quality_min=0.70),
    ),
    SignalDefinition(
        "sentiment",
        "1.0.0",
        "production",
        _OWNER,
        "the author's sentiment toward the main subject; stance toward a named product follows it",
        ("positive", "negative", "neutral"),
        ("ranker features (post_signals.sentiment)", "insights"),
        SignalSLO(quality_metric="accuracy", quality_min=0.75),
    ),
    SignalDefinition(
        "commercial",
        "1.0.0",
        "production",
        _OWNER,
        "a product, brand, store, service or purchase is a subject of the post",
        ("false", "true"),
        ("ads contextual targeting", "ranker features (post_signals.commercial_prob)"),
        SignalSLO(quality_metric="f1", quality_min=0.85),
    ),
    SignalDefinition(
        "products",
        "1.0.0",
        "production",
        _OWNER,
        "product, model and brand names as they appear in the text, with spans and a normalised brand",
        (),
        ("ads contextual targeting (product rule)", "insights (top products per community)"),
        SignalSLO(quality_metric="entity_f1", quality_min=0.60),
    ),
    SignalDefinition(
        "category",
        "1.0.0",
        "production",
        _OWNER,
        "the main product category of a commercial post, from the codebook's 16",
        (),
        ("ads contextual targeting (category rule)", "insights (category mix)"),
        SignalSLO(quality_metric="accuracy", quality_min=0.75),
    ),
    SignalDefinition(
        "brand_safety",
        "1.0.0",
        "production",
        _OWNER,
        "safe, sensitive or unsafe with the reason (codebook additions): strict ad groups serve beside safe",
        ("safe", "sensitive", "unsafe"),
        ("ads blender (brand-safety tiers)",),
        SignalSLO(quality_metric="macro_f1", quality_min=0.60),
    ),
)


def get(name: str) -> SignalDefinition:
    for d in DEFINITIONS:
        if d.name == name:
            return d
    raise KeyError(f"no signal {name!r}; known: {[d.name for d in DEFINITIONS]}")


def reports_dir(state: Path) -> Path:
    return state / "signals" / "reports"


def save_report(state: Path, kind: str, report: dict[str, Any]) -> Path:
    """Keep the latest eval/bench/backfill report where ``show`` finds it."""
    path = reports_dir(state) / f"{kind}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    return path


def _load(state: Path, kind: str) -> dict[str, Any] | None:
    path = reports_dir(state) / f"{kind}.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


_QUALITY_KEY = {
    "intent": ("intent", "macro_f1"),
    "sentiment": ("sentiment", "accuracy"),
    "commercial": ("commercial", "f1"),
    "products": ("products", "f1"),
    "category": ("category", "accuracy"),
    "brand_safety": ("brand_safety", "macro_f1"),
}


def describe(name: str, state: Path) -> dict[str, Any]:
    """A signal's definition, its producer and lineage, and its SLOs beside what was last measured."""
    from feedmix.signals.signal_models import model_dir, model_meta

    d = get(name)
    out: dict[str, Any] = asdict(d)
    out["codebook_digest_now"] = codebook_digest()
    try:
        meta = model_meta(model_dir(d.producer_tier, root=state))
        out["producer"] = {"tier": d.producer_tier, "model_version": f"{d.producer_tier}-{meta['version']}"}
        out["lineage"] = meta.get("lineage", {})
        if "teacher" in out["lineage"]:
            version = out["lineage"]["teacher"].removeprefix("teacher-")
            try:
                out["lineage"]["teacher_lineage"] = model_meta(model_dir("teacher", version, state)).get(
                    "lineage", {}
                )
            except FileNotFoundError:  # a packaged student's teacher stays where it was trained
                out["lineage"]["teacher_lineage"] = "not in this state folder"
    except FileNotFoundError as e:
        out["producer"] = {"tier": d.producer_tier, "model_version": None, "why": str(e)}
    measured: dict[str, Any] = {}
    ev = _load(state, "eval-test")
    if ev is not None and d.producer_tier in ev.get("tiers", {}):
        section, key = _QUALITY_KEY[name]
        measured["quality"] = ev["tiers"][d.producer_tier]["high"][section][key]
        measured["labelled_set_digest"] = ev["dev_set_digest"]
        judge_kappa = ev["tiers"][d.producer_tier].get("judge_kappa", {})
        if name in judge_kappa:
            measured["judge_kappa"] = judge_kappa[name]
            measured["judge_kappa_on"] = "dev set test part"
    daily = _load(state, f"judge-daily-{d.producer_tier}")
    if daily is not None and daily.get("trusted") and name in daily.get("kappa", {}):
        # what people post now outranks the dev set: the SLO is "agreement on a daily sample"
        measured["judge_kappa"] = daily["kappa"][name]
        measured["judge_kappa_on"] = f"daily sample {daily['day']} ({daily['compared']} posts)"
    bench = _load(state, "bench")
    if bench is not None and d.producer_tier in bench.get("tiers", {}):
        tier = bench["tiers"][d.producer_tier]
        measured["latency_p99_ms"] = tier.get("per_post_unbatched", {}).get("p99_ms")
        measured["usd_per_1k_posts"] = tier.get("usd_per_1k_posts")
    drift = _load(state, f"drift-{d.producer_tier}")
    if drift is not None and d.name in drift.get("psi", {}):
        measured["psi"] = drift["psi"][d.name]
    backfill = _load(state, f"backfill-{d.producer_tier}")
    if backfill is not None and backfill.get("posts"):
        measured["coverage"] = round(backfill["posts_labelled_total"] / backfill["posts"], 4)
    out["measured"] = measured
    out["slo_status"] = _status(d.slo, measured)
    return out


def _status(slo: SignalSLO, measured: dict[str, Any]) -> dict[str, str]:
    checks = {
        "quality": ("quality", slo.quality_min, True),
        "latency_p99_ms": ("latency_p99_ms", slo.latency_p99_ms, False),
        "usd_per_1k_posts": ("usd_per_1k_posts", slo.usd_per_1k_posts_max, False),
        "coverage": ("coverage", slo.coverage_min, True),
        "psi": ("psi", slo.psi_max, False),
        "judge_kappa": ("judge_kappa", slo.judge_kappa_min, True),
    }
    out = {}
    for label, (key, bound, at_least) in checks.items():
        value = measured.get(key)
        if value is None:
            out[label] = "not measured"
        else:
            ok = value >= bound if at_least else value <= bound
            value_text = f"{value:.4g}" if isinstance(value, float) else str(value)
            rule = f"SLO {'>=' if at_least else '<='} {bound}"
            out[label] = f"{'ok' if ok else 'BREACHED'} ({value_text}; {rule})"
    return out
