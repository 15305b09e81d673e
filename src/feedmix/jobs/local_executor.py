"""The default executor: partitions run one after another in this process, when their result is read.

Lazy on purpose: a job that writes each result as it arrives (the signals backfill) keeps one
partition in memory at a time, as it did before executors existed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

C = TypeVar("C")
P = TypeVar("P")
R = TypeVar("R")


class LocalExecutor:
    name = "local"
    parallelism = 1

    def map(
        self, fn: Callable[[C, P], R], common: C, partitions: Sequence[P], *, cpus: float = 1.0
    ) -> Iterator[R]:
        return (fn(common, p) for p in partitions)

    def close(self) -> None:
        pass
