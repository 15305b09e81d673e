"""``--executor``, ``--ray-address`` and ``--partitions``: the same three options on every batch command."""

from __future__ import annotations

import argparse
from typing import Any

from feedmix.jobs.backends import EXECUTORS, make_executor
from feedmix.jobs.executor import Executor


def add_executor_options(parser: Any, *, partitions: bool = True) -> None:
    """``partitions=False`` for a job whose partitions are fixed (the index build: one per index)."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="where the job's partitions run: local (this process) or ray (a Ray cluster); default:"
        " [jobs] executor of --config where the command takes one, else local",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        help="the Ray cluster's head, host:port (default: [jobs] ray_address where a --config gives one,"
        " else $RAY_ADDRESS)",
    )
    if not partitions:
        return
    parser.add_argument(
        "--partitions",
        type=int,
        default=None,
        help="how many partitions to split the job into (default: the executor's cores; local: 1)",
    )


def executor_from_args(args: argparse.Namespace, name: str = "local", address: str = "") -> Executor:
    """The executor the options name, ``name`` and ``address`` (the config's) where they are not given."""
    return make_executor(args.executor or name, args.ray_address or address)


def partitions_from_args(args: argparse.Namespace, executor: Executor) -> int:
    n = args.partitions if args.partitions is not None else executor.parallelism
    if n < 1:
        raise ValueError(f"--partitions must be at least 1, got {n}")
    return int(n)
