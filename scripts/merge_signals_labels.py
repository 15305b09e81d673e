"""Builds the dev set's gold file from its two labelling passes and measures how far they agree.

The second pass (written under the README's clarifications) is the gold; the first pass is an independent
second opinion. A post's gold confidence is ``high`` only when the gold labeller said high and the first
pass agreed on intent and commercial. Agreement per field (Cohen's kappa, raw agreement, entity F1 between
the passes) goes to ``agreement.json``: the ceiling no model should be expected to pass.

    python scripts/merge_signals_labels.py --first /tmp/labels/passa.jsonl --gold /tmp/labels/gold_*.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from feedmix.signals import metrics
from feedmix.signals.codebook import BRAND_SAFETY, INTENTS, SENTIMENTS

OUT = Path(__file__).resolve().parents[1] / "src/feedmix/signals/labelled"


def _read(paths: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["id"]] = rec
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", nargs="+", required=True)
    ap.add_argument("--gold", nargs="+", required=True)
    args = ap.parse_args()
    posts = [json.loads(x) for x in (OUT / "dev_posts.jsonl").read_text().splitlines() if x.strip()]
    first, gold = _read(args.first), _read(args.gold)
    ids = [p["id"] for p in posts]
    missing = [i for i in ids if i not in first or i not in gold]
    if missing:
        raise SystemExit(f"posts without both passes: {missing[:10]}")
    keys = ["id", "intent", "sentiment", "commercial", "products", "category", "stance"]
    keys += ["brand_safety", "brand_safety_reason", "confidence"]
    with open(OUT / "dev_labels.jsonl", "w") as f_gold, open(OUT / "first_pass_labels.jsonl", "w") as f_first:
        for i in ids:
            g, a = dict(gold[i]), first[i]
            agree = g["intent"] == a["intent"] and g["commercial"] == a["commercial"]
            g["confidence"] = "high" if g["confidence"] == "high" and agree else "low"
            f_gold.write(json.dumps({k: g[k] for k in keys}, ensure_ascii=False) + "\n")
            f_first.write(json.dumps({k: a[k] for k in keys}, ensure_ascii=False) + "\n")
    agreement = {}
    for field, labels in (("intent", INTENTS), ("sentiment", SENTIMENTS), ("brand_safety", BRAND_SAFETY)):
        x = np.array([labels.index(first[i][field]) for i in ids])
        y = np.array([labels.index(gold[i][field]) for i in ids])
        agreement[field] = {
            "kappa": round(metrics.cohen_kappa(x, y, len(labels)), 3),
            "agreement": round(float(np.mean(x == y)), 3),
        }
    x = np.array([int(first[i]["commercial"]) for i in ids])
    y = np.array([int(gold[i]["commercial"]) for i in ids])
    agreement["commercial"] = {
        "kappa": round(metrics.cohen_kappa(x, y, 2), 3),
        "agreement": round(float(np.mean(x == y)), 3),
    }
    both = [i for i in ids if gold[i]["commercial"] and first[i]["commercial"]]
    agreement["category_when_both_commercial"] = {
        "agreement": round(float(np.mean([gold[i]["category"] == first[i]["category"] for i in both])), 3),
        "n": len(both),
    }
    ent = metrics.entity_f1([gold[i]["products"] for i in ids], [first[i]["products"] for i in ids])
    agreement["products_entity_f1"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in ent.items()}
    highs = sum(1 for i in ids if gold[i]["confidence"] == "high")
    agreement["posts"] = len(ids)
    agreement["gold_high_before_agreement_check"] = highs
    with open(OUT / "dev_labels.jsonl") as f:
        agreement["gold_high"] = sum(1 for x in f if '"confidence": "high"' in x)
    (OUT / "agreement.json").write_text(json.dumps(agreement, indent=1) + "\n")
    print(json.dumps(agreement, indent=1))


if __name__ == "__main__":
    main()
