"""``feedmix eval loop``: the trained ranker against the heuristic, on simulated Reddit users.

1. Collect: ``--collect`` simulated sessions against the service with the heuristic ranking (the
   system as deployed before any model), through the real API, event log, aggregates, offline
   history and served-feature log.
2. Train: ``feedmix train`` on that log; AUC per head on the later 20% time slice, next to the
   heuristic score's AUC on the same impressions.
3. Closed loop: ``--compare`` fresh sessions served by the heuristic and the same number served by
   the promoted ranker, each on a fresh service state, with the same seed: the same users start the
   same sessions in the same order, so the per-session difference is paired (common random numbers)
   and its 95% interval is much tighter than the two means' intervals suggest.

Engagement per session is the simulator's: clicks + upvotes - hides. The simulator's users react
to post quality, their interest in the community and the display position (see
``feedmix.simulation.behavior``); nothing in the ranker reads the simulator's parameters.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from feedmix.config import FeedmixConfig
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.eval.learning_loop import closed_loop, loop_config, run_sessions, train_on_collected
from feedmix.ranking.model_registry import ModelRegistry

HEADS = ("click", "upvote", "comment", "hide")
#: the third arm: the ranker's value alone, without the freshness and diversity rules
NO_RULES = {"freshness_boost.weight": 0.0, "community_penalty.penalty": 0.0, "domain_penalty.penalty": 0.0}


def run(
    state_dir: Path,
    *,
    posts: str = "demo",
    users: int = 2000,
    collect: int = 1500,
    compare: int = 1000,
    seed: int = 11,
    progress: bool = True,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    corpus = RedditCorpus.load(FeedmixConfig(posts=posts).posts_path())
    collect_cfg = loop_config(state_dir / "collect", posts=posts, users=users, feature_log_sample_rate=0.2)
    report, _ = run_sessions(collect_cfg, corpus, collect, seed, run_id="collect", progress=progress)
    summary = train_on_collected(collect_cfg, corpus, progress=progress)
    registry_root = str(ModelRegistry(collect_cfg.ranking_registry_dir).root)
    arms: dict[str, Any] = {}
    per_session = {}
    for arm, registry_dir, params in (
        ("heuristic", str(state_dir / "no-models"), {}),
        ("ranker", registry_root, {}),
        ("ranker_no_rules", registry_root, NO_RULES),
    ):
        cfg = loop_config(state_dir / arm, posts=posts, users=users, ranking_registry_dir=registry_dir)
        rep, per_session[arm] = run_sessions(
            cfg, corpus, compare, seed + 1, run_id=arm, progress=progress, params=params
        )
        arms[arm] = {
            "impressions": rep.impressions,
            "clicks": rep.clicks,
            "upvotes": rep.upvotes,
            "comments": rep.comments,
            "hides": rep.hides,
            "ctr": rep.ctr,
            "session_ends": rep.session_ends,
            "errors": rep.errors,
        }
    m = summary["metrics"]
    return {
        "corpus": corpus.describe(),
        "users": users,
        "collect": {"sessions": collect, "impressions": report.impressions, "ctr": report.ctr},
        "model": {
            "version": summary["version"],
            "rows": summary["rows"],
            "test_rows": int(m["test_rows"]),
            "heads": {
                h: {
                    "auc": m[f"{h}.auc"],
                    "heuristic_auc": m[f"{h}.heuristic_auc"],
                    "logloss": m[f"{h}.logloss"],
                    "base_rate": m[f"{h}.base_rate"],
                }
                for h in HEADS
            },
        },
        "closed_loop": closed_loop(per_session["heuristic"], per_session["ranker"]),
        "closed_loop_no_rules": closed_loop(per_session["heuristic"], per_session["ranker_no_rules"]),
        "arms": arms,
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }


def markdown(result: dict[str, Any]) -> str:
    heads = result["model"]["heads"]
    lines = [
        f"AUC on the later 20% time slice ({result['model']['test_rows']} impressions of"
        f" {result['model']['rows']}):",
        "",
        "| head | trained ranker AUC | heuristic score AUC | base rate |",
        "|---|---|---|---|",
    ]
    for h, v in heads.items():
        lines.append(f"| {h} | {v['auc']:.4f} | {v['heuristic_auc']:.4f} | {v['base_rate']:.4f} |")

    def ci(x: dict[str, Any]) -> str:
        lo, hi = x["ci95"] or (float("nan"), float("nan"))
        return f"{x['mean']:.3f} [{lo:.3f}, {hi:.3f}]"

    c, n = result["closed_loop"], result["closed_loop_no_rules"]
    lines += [
        "",
        f"Closed loop, {c['sessions']} sessions per arm (engagement = clicks + upvotes - hides per session,"
        " mean [95% CI]; differences paired against the heuristic):",
        "",
        "| arm | engagement per session | difference | relative |",
        "|---|---|---|---|",
        f"| heuristic | {ci(c['baseline'])} | | |",
        f"| trained ranker + rescoring rules | {ci(c['treatment'])} | {ci(c['difference'])}"
        f" | {c['relative']:+.1%} |",
        f"| trained ranker, no rules | {ci(n['treatment'])} | {ci(n['difference'])} | {n['relative']:+.1%} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix eval loop", description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", default="demo", help="demo, full or a path")
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--collect", type=int, default=1500, help="sessions logged under the heuristic")
    ap.add_argument("--compare", type=int, default=1000, help="sessions per arm in the closed loop")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--state", help="keep the run's state here (default: a temporary directory)")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--json", action="store_true", help="print the JSON instead of the tables")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="feedmix-loop-") as tmp:
        state = Path(args.state) if args.state else Path(tmp)
        result = run(
            state,
            posts=args.posts,
            users=args.users,
            collect=args.collect,
            compare=args.compare,
            seed=args.seed,
            progress=not args.no_progress,
        )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
