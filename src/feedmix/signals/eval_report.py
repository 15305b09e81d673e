"""``feedmix signals eval``: every tier labels the dev set, is scored on one split's high-confidence items
and on all of them, and the result is printed as tables (and kept as JSON by ``--json``)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from feedmix.signals.codebook import codebook_digest
from feedmix.signals.devset import DevSet
from feedmix.signals.evaluation import AIMS, meets_aims, score
from feedmix.signals.judged_sample import kappas
from feedmix.signals.labelers import TIERS, make_labeler


def evaluate_tiers(
    tiers: list[str] | None = None, split: str = "test", dev: DevSet | None = None
) -> dict[str, Any]:
    dev = dev or DevSet.load()
    report: dict[str, Any] = {
        "split": split,
        "dev_set_digest": dev.digest,
        "codebook_digest": codebook_digest(),
        "posts": {c: int(dev.mask(split, c).sum()) for c in ("high", "all")},
        "tiers": {},
    }
    report["unavailable"] = {}
    judge = make_labeler("judge").label(dev.posts)  # the recorded judge: the agreement every tier is held to
    split_rows = dev.mask(split, "all")
    for tier in tiers or list(TIERS):
        try:
            labeler = make_labeler(tier)
        except FileNotFoundError as e:
            if tiers:  # asked for by name: say so loudly
                raise
            report["unavailable"][tier] = str(e)
            continue
        t0 = time.perf_counter()
        signals = labeler.label(dev.posts)
        elapsed = time.perf_counter() - t0
        report["tiers"][tier] = {
            "model_version": labeler.version,
            "seconds_per_post": elapsed / max(len(dev), 1),
            "high": score(signals, dev, dev.mask(split, "high")),
            "all": score(signals, dev, dev.mask(split, "all")),
        }
        report["tiers"][tier]["aims"] = meets_aims(report["tiers"][tier]["high"]["headline"])
        report["tiers"][tier]["judge_kappa"] = kappas(signals, judge, np.flatnonzero(split_rows))
    report["pairwise"] = _pairwise()
    return report


def _pairwise() -> dict[str, object] | None:
    """The judge's order-swapped comparison of two tiers on the tuning posts where they disagreed."""
    import json

    from feedmix.signals.devset import LABELLED_DIR
    from feedmix.signals.judges.pairwise import order_swap_report, read_verdicts
    from feedmix.signals.judges.prompt import load_prompt

    path = LABELLED_DIR / "compare-v1-pairs.jsonl"
    if not path.is_file():
        return None
    ids = [json.loads(x)["id"] for x in path.read_text().splitlines() if x.strip()]
    out: dict[str, object] = {"prompt": "compare-v1", "on": "tuning posts where rules and teacher disagree"}
    out.update(order_swap_report(read_verdicts(load_prompt("compare-v1").digest), ids, "rules", "teacher"))
    return out


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def format_report(report: dict[str, Any], confusion: bool = False) -> str:
    out = [
        f"dev set {report['dev_set_digest']} (codebook {report['codebook_digest']}), split {report['split']}:"
        f" {report['posts']['high']} high-confidence posts of {report['posts']['all']}"
    ]
    for tier, why in report.get("unavailable", {}).items():
        out.append(f"(tier {tier} not evaluated: {why})")
    heads = ["tier", "items", *AIMS, "category_accuracy", "brand_safety_macro_f1", "intent_ece"]
    rows = [heads]
    for tier, r in report["tiers"].items():
        for subset in ("high", "all"):
            h = r[subset]["headline"]
            rows.append([tier, subset] + [f"{h[k]:.3f}" for k in heads[2:]])
    rows.append(["aim", "high", *[f">={v:.2f}" for v in AIMS.values()], "", "", ""])
    out += ["", _table(rows)]
    if report.get("proxy"):
        rows = [["proxy: clothing reviews", *next(iter(report["proxy"].values())).keys()]]
        rows += [[tier, *(str(v) for v in r.values())] for tier, r in report["proxy"].items()]
        out += ["", _table(rows)]
    if report.get("pairwise"):
        pw = report["pairwise"]
        out.append(
            f"\njudge, pairwise ({pw['prompt']}, {pw['on']}): {pw['pairs']} pairs, order-swap flip rate"
            f" {pw['flip_rate']}; of the verdicts that survived the swap, rules win {pw['rules_win_rate']},"
            f" teacher {pw['teacher_win_rate']}"
        )
    for tier, r in report["tiers"].items():
        k, j = r["high"]["kappa"], r["judge_kappa"]
        out.append(
            f"{tier}: kappa with the judge (all): intent {j['intent']}, commercial {j['commercial']};"
            f" Cohen's kappa with the gold labels (high): intent {k['intent']:.3f},"
            f" sentiment {k['sentiment']:.3f}, commercial {k['commercial']:.3f},"
            f" brand safety {k['brand_safety']:.3f}"
        )
    for tier, r in report["tiers"].items():
        for subset in ("high", "all"):
            rep = r[subset]
            out.append(f"\n== {tier} ({r['model_version']}), {subset} ({rep['n']} posts)")
            for signal in ("intent", "sentiment", "brand_safety", "category"):
                sec = rep[signal]
                rows = [[signal, "precision", "recall", "f1", "support"]]
                for label, row in sec["per_label"].items():
                    if row["support"] or signal != "category":
                        rows.append(
                            [
                                label,
                                f"{row['precision']:.3f}",
                                f"{row['recall']:.3f}",
                                f"{row['f1']:.3f}",
                                str(row["support"]),
                            ]
                        )
                rows.append(["macro", "", "", f"{sec['macro_f1']:.3f}", f"acc {sec['accuracy']:.3f}"])
                rows.append(["ece", "", "", f"{sec['ece']:.3f}", ""])
                out += ["", _table(rows)]
                if confusion:
                    out.append("confusion (rows gold, columns predicted): " + " ".join(sec["labels"]))
                    out += ["  " + " ".join(f"{v:3d}" for v in line) for line in sec["confusion"]]
            c, pr = rep["commercial"], rep["products"]
            out.append(
                f"\ncommercial  precision {c['precision']:.3f}  recall {c['recall']:.3f}  f1 {c['f1']:.3f}"
                f"  ece {c['ece']:.3f}"
            )
            out.append(
                f"products    precision {pr['precision']:.3f}  recall {pr['recall']:.3f}  f1 {pr['f1']:.3f}"
                f"  lenient f1 {pr['lenient_f1']:.3f}  ({pr['gold_mentions']} gold mentions)"
            )
    return "\n".join(out)
