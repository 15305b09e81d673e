"""The ``feedmix`` command line: the table of contents.

Each package declares its own subcommands in its ``cli.py`` (``register(subparsers)``); this module
only lists them, in the order ``feedmix --help`` shows them. Those modules import their heavy
dependencies inside the handlers, so ``feedmix --help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import sys

from feedmix.ads import cli as ads_cli
from feedmix.bench import cli as bench_cli
from feedmix.eval import cli as eval_cli
from feedmix.experiments import cli as experiments_cli
from feedmix.features import cli as features_cli
from feedmix.ranking import cli as ranking_cli
from feedmix.retrieval import cli as retrieval_cli
from feedmix.serving import cli as serving_cli
from feedmix.shadow import cli as shadow_cli
from feedmix.signals import cli as signals_cli
from feedmix.simulation import cli as simulation_cli

#: who registers which commands, in help order
COMMAND_GROUPS = (
    serving_cli,  # demo, serve, feed
    simulation_cli,  # simulate
    ranking_cli,  # train, models
    bench_cli,  # bench, cost
    eval_cli,  # eval
    ads_cli,  # ads
    experiments_cli,  # experiments
    shadow_cli,  # shadow
    signals_cli,  # signals
    features_cli,  # features
    retrieval_cli,  # index
)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="feedmix", description="Personalized feeds with ads mixed in.")
    ap.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = ap.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and not hasattr(args, "forwarded"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if hasattr(args, "forwarded"):
        args.forwarded = rest
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `feedmix feed u1 | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
