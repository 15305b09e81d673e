"""``feedmix simulate``: simulated users driving a running server through its HTTP API."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def cmd_simulate(args: argparse.Namespace) -> int:
    import httpx

    from feedmix.corpus.community_graph import CommunityGraph
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.simulation.behavior import BehaviorModel
    from feedmix.simulation.driver import simulate
    from feedmix.simulation.population import Population

    with httpx.Client(base_url=args.url, timeout=30) as client:
        try:
            health = client.get("/healthz").json()
        except httpx.HTTPError as exc:
            print(f"no feedmix server at {args.url}: {exc}  (start one with `feedmix demo`)", file=sys.stderr)
            return 1
        corpus = (
            RedditCorpus.load(health["corpus"]["source"])
            if args.posts is None
            else RedditCorpus.load(args.posts)
        )
        graph = CommunityGraph.from_corpus(corpus)
        population = Population.generate(corpus, graph, n_users=health["users"], seed=args.users_seed)
        report = simulate(
            client,
            population,
            BehaviorModel(corpus),
            corpus,
            sessions=args.sessions,
            seed=args.seed,
            limit=args.limit,
            progress=not args.quiet,
        )
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="drive simulated users against a running server")
    p.add_argument("--url", default=DEFAULT_URL)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--users-seed", type=int, default=42, help="must match the server's [users] seed")
    p.add_argument("--posts", default=None, help="corpus path (default: the one the server reports)")
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_simulate)
