"""``feedmix eval discovery``: the apps and games discovery surface's offline quality on a held-out slice
of simulated sessions, against a popularity baseline.

Simulated users read the discovery surface through the real API (``GET /v1/discovery/feed``) for
``--sessions`` sessions; their impressions, clicks, votes, comments and hides go through the event log
as in production. A ranker is trained on the earlier 80% of those impressions (in time) and scored on the
latest 20%, per head, next to two baselines on the same held-out impressions: the heuristic formula the
surface ranks with until a model is promoted, and popularity (the post's own vote score). AUC says how
well each orders what the users then engaged with.

The simulated users react to quality, age, position and their interest in a community (see
``feedmix.simulation.behavior``); they know nothing of the catalogue's categories, so this measures
how well each ranking finds what users like among games and apps posts, not whether they like novelty.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.eval.learning_loop import loop_config, run_sessions
from feedmix.ranking.model_registry import ModelRegistry
from feedmix.ranking.ranker_training import TrainingConfig, train_ranker
from feedmix.simulation.population import Population

HEADS = ("click", "upvote", "comment", "hide")


def measure(sessions: int = 1000, seed: int = 21, state_dir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="feedmix-eval-discovery-") as tmp:
        state = state_dir or Path(tmp)
        cfg = loop_config(state, signals_corpus="off", ads_enabled=False)
        corpus = RedditCorpus.load(cfg.posts_path(), now=cfg.now)
        print(f"eval discovery: {sessions} simulated sessions on the discovery surface", file=sys.stderr)
        report, per_session = run_sessions(
            cfg, corpus, sessions, seed, run_id="discovery", surface="discovery", progress=True
        )
        graph = CommunityGraph.from_corpus(corpus)
        users = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
        run = train_ranker(
            cfg.event_log,
            cfg.feature_offline_dir,
            ModelRegistry(state / "models-discovery"),
            corpus,
            graph,
            users,
            served_log_dir=cfg.feature_log_dir,
            config=TrainingConfig(complete_only=False),
            progress=False,
        )
        m = run["metrics"]
        return {
            "sessions": sessions,
            "impressions": report.impressions,
            "ctr": round(report.ctr, 4),
            "engagement_per_session": round(float(per_session.mean()), 4) if len(per_session) else 0.0,
            "rows": run["rows"],
            "test_rows": int(m["test_rows"]),
            "auc": {
                h: {
                    "ranker": round(m[f"{h}.auc"], 4),
                    "heuristic": round(m[f"{h}.heuristic_auc"], 4),
                    "popularity": round(m[f"{h}.popularity_auc"], 4),
                    "base_rate": round(m[f"{h}.base_rate"], 4),
                }
                for h in HEADS
                if f"{h}.auc" in m
            },
        }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| head | trained ranker AUC | heuristic AUC | popularity AUC | base rate |",
        "|---|---|---|---|---|",
    ]
    for h, v in result["auc"].items():
        cells = [v[k] for k in ("ranker", "heuristic", "popularity", "base_rate")]
        lines.append(f"| {h} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix eval discovery", description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--markdown", action="store_true", help="print the README table too")
    args = ap.parse_args(argv)
    result = measure(args.sessions, args.seed)
    text = json.dumps(result, indent=1)
    print(text)
    if args.markdown:
        print(markdown(result))
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
