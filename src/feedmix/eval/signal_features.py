"""``feedmix eval signal-features``: what the content signals add to the ranker, as the per-head AUC
change on simulated Reddit.

Sessions of the simulated users are served by the heuristic through the real API (as ``eval loop``
collects them), the corpus is rated by the production tier, and the ranker is trained twice on the same
logged impressions: once with the content-signal features (``sig.*``) and once without. Both are scored on
the same latest 20% of impressions, which training never saw.

The simulated users react to a post's quality, age and community, not to its intent or category, so the
signals can only help the ranker here through what they correlate with: read a small change as "the
simulator has no content preferences", not as what real users would show.
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
from feedmix.ranking.ranker_features import SIGNAL_FEATURES, ranker_feature_names
from feedmix.ranking.ranker_training import TrainingConfig, train_ranker
from feedmix.signals.corpus_signals import CorpusSignals
from feedmix.signals.signals_runtime import production_labeler
from feedmix.simulation.population import Population


def measure(sessions: int = 1500, seed: int = 11, state_dir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="feedmix-eval-signals-") as tmp:
        state = state_dir or Path(tmp)
        cfg = loop_config(state, signals_corpus="off", ads_enabled=False)
        corpus = RedditCorpus.load(cfg.posts_path(), now=cfg.now)
        print(f"eval signal-features: rating {len(corpus)} posts", file=sys.stderr)
        loader = CorpusSignals(
            cfg.posts_path(),
            production_labeler(cfg.signals_tier),  # the production model of this checkout's state
            state,
            lambda table: None,
            label_missing=True,
            corpus_ids=corpus.id_str,
        )
        loader.run()
        if loader.table is None:
            raise RuntimeError(f"the corpus could not be rated: {loader.error}")
        print(f"eval signal-features: {sessions} simulated sessions", file=sys.stderr)
        run_sessions(cfg, corpus, sessions, seed, run_id="signals-collect")
        graph = CommunityGraph.from_corpus(corpus)
        users = Population.generate(corpus, graph, n_users=cfg.users, seed=cfg.users_seed)
        all_features = ranker_feature_names()
        without = tuple(f for f in all_features if f not in SIGNAL_FEATURES)
        runs = {}
        for name, features, table in (
            ("with_signals", all_features, loader.table),
            ("without", without, None),
        ):
            runs[name] = train_ranker(
                cfg.event_log,
                cfg.feature_offline_dir,
                ModelRegistry(state / f"models-{name}"),
                corpus,
                graph,
                users,
                served_log_dir=cfg.feature_log_dir,
                config=TrainingConfig(complete_only=False),
                progress=False,
                signals=table,
                features=features,
            )
        metric = {name: run["metrics"] for name, run in runs.items()}
        heads = sorted(
            k.removesuffix(".auc") for k in metric["without"] if k.endswith(".auc") and "heuristic" not in k
        )
        return {
            "sessions": sessions,
            "rows": runs["without"]["rows"],
            "signals_model": loader.table.model_version,
            "features": {"with_signals": len(all_features), "without": len(without)},
            "auc": {
                h: {
                    "with_signals": round(metric["with_signals"][f"{h}.auc"], 4),
                    "without": round(metric["without"][f"{h}.auc"], 4),
                    "change": round(metric["with_signals"][f"{h}.auc"] - metric["without"][f"{h}.auc"], 4),
                }
                for h in heads
            },
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="feedmix eval signal-features", description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args(argv)
    result = measure(args.sessions, args.seed)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
