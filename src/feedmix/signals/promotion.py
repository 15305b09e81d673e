"""Promoting a new model version: it is computed side by side with the current one (both label the dev
set and the same sample of the corpus) and becomes current only when the SLOs hold: no signal whose
quality SLO the current version meets may fall below it, and no headline figure may drop by more than
``tolerance``. The decision, both versions' figures and how many corpus posts would change their labels
are kept in ``<state>/signals/reports/promotion-<tier>.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from feedmix.signals.devset import DevSet
from feedmix.signals.evaluation import score
from feedmix.signals.posts import Posts
from feedmix.signals.registry import DEFINITIONS, save_report
from feedmix.signals.signal_models import load_model, model_dir, model_meta, promoted_version, set_promoted

#: registry signal -> the headline figure its quality SLO is stated in
SLO_FIGURE = {
    "intent": "intent_macro_f1",
    "sentiment": "sentiment_accuracy",
    "commercial": "commercial_f1",
    "products": "entity_f1",
    "category": "category_accuracy",
    "brand_safety": "brand_safety_macro_f1",
}


def compare(
    tier: str,
    candidate: str,
    current: str | None,
    sample: Posts | None,
    root: Path | None = None,
    tolerance: float = 0.02,
) -> dict[str, Any]:
    dev = DevSet.load()
    mask = dev.mask("test", "high")
    new = load_model(tier, candidate, root)
    new_head = score(new.label(dev.posts), dev, mask)["headline"]
    out: dict[str, Any] = {
        "tier": tier,
        "candidate": candidate,
        "current": current,
        "candidate_figures": new_head,
    }
    breaches: list[str] = []
    if current is None:
        out["decision"] = "promote: no current version"
        out["promote"] = True
        return out
    old = load_model(tier, current, root)
    old_head = score(old.label(dev.posts), dev, mask)["headline"]
    out["current_figures"] = old_head
    for d in DEFINITIONS:
        figure = SLO_FIGURE[d.name]
        if old_head[figure] >= d.slo.quality_min > new_head[figure]:
            breaches.append(
                f"{d.name}: {figure} {new_head[figure]:.3f} falls below its SLO {d.slo.quality_min}"
            )
    for figure, value in new_head.items():
        if figure.endswith("_ece"):
            continue
        if value < old_head[figure] - tolerance:
            breaches.append(
                f"{figure}: {value:.3f} is {old_head[figure] - value:.3f} below the current version"
            )
    if sample is not None and len(sample):
        a, b = old.label(sample), new.label(sample)
        out["corpus_sample"] = {
            "posts": len(sample),
            "intent_changed": round(float(np.mean(a.intent != b.intent)), 4),
            "commercial_changed": round(float(np.mean(a.commercial != b.commercial)), 4),
            "brand_safety_changed": round(float(np.mean(a.brand_safety != b.brand_safety)), 4),
        }
    out["breaches"] = breaches
    out["promote"] = not breaches
    out["decision"] = "promote" if not breaches else "keep the current version"
    return out


def promote(
    tier: str,
    version: str | None,
    state: Path,
    sample: Posts | None = None,
    force: bool = False,
) -> dict[str, Any]:
    candidate = version or model_meta(_newest(tier, state))["version"]
    current = promoted_version(tier, state)
    if current == candidate:
        return {
            "tier": tier,
            "candidate": candidate,
            "current": current,
            "promote": False,
            "decision": "already current",
        }
    report = compare(tier, candidate, current, sample, state)
    if report["promote"] or force:
        set_promoted(tier, candidate, state)
        report["promoted"] = True
        if force and not report["promote"]:
            report["decision"] = "promoted by force despite the breaches"
    else:
        report["promoted"] = False
    save_report(state, f"promotion-{tier}", report)
    return report


def _newest(tier: str, state: Path) -> Path:
    base = state / "signals" / "models" / tier
    versions = sorted(p for p in base.glob("*") if (p / "model.json").is_file()) if base.is_dir() else []
    if not versions:
        return model_dir(tier, root=state)  # raises the "train it first" error
    return versions[-1]
