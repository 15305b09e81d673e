"""``feedmix eval ...``: offline quality evaluations; each module owns its options."""

from __future__ import annotations

from typing import Any

from feedmix.command_forwarding import forward as _forward


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="offline quality evaluations that print tables")
    esub = p.add_subparsers(dest="eval", required=True)
    _forward(
        esub,
        "retrieval",
        "MovieLens temporal split: Recall@50 and NDCG@10 per source and union",
        "feedmix.eval.movielens",
    )
    _forward(
        esub,
        "ranking",
        "MovieLens temporal split: the retrieval + ranking stack against popularity, ALS and retrieval",
        "feedmix.eval.movielens_ranking",
    )
    _forward(
        esub,
        "loop",
        "simulated Reddit: AUC per head on a later slice, closed loop heuristic vs trained ranker",
        "feedmix.eval.simulated_ranking",
    )
    _forward(
        esub,
        "signal-features",
        "simulated Reddit: the ranker's per-head AUC with and without the content-signal features",
        "feedmix.eval.signal_features",
    )
    _forward(
        esub,
        "discovery",
        "the apps and games discovery surface on held-out simulated sessions: ranker, heuristic, popularity",
        "feedmix.eval.discovery",
    )
    _forward(
        esub,
        "ope",
        "Open Bandit logs: IPS, SNIPS, DR estimates of BTS's click rate against its on-policy rate",
        "feedmix.eval.ope.open_bandit",
    )
    _forward(
        esub,
        "experiments",
        "simulated users: A/A false-positive rate, a planted effect against the closed loop, CUPED, SRM",
        "feedmix.eval.experiment_validation",
    )
