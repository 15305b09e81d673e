"""The one interface a batch job sees: run a function over partitions, get the results in order.

A job that knows only this cannot depend on where its partitions ran, so the local executor (one
process, the default) and the Ray executor (tasks on a cluster) give the same result by
construction, and one test per job checks that they do.

What a job hands over has to travel to other processes and machines: ``fn`` is a module-level
function (pickled by reference, so every worker needs feedmix installed at the same version), the
``common`` input and each partition are picklable, and any path in them names storage every worker
sees (the same machine, or a file system they share).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

C = TypeVar("C")
P = TypeVar("P")
R = TypeVar("R")


class Executor(Protocol):
    @property
    def name(self) -> str:
        """``local`` or ``ray``: what a job reports it ran on."""
        ...

    @property
    def parallelism(self) -> int:
        """How many partitions can run at once: the partition count a job picks by default."""
        ...

    def map(
        self, fn: Callable[[C, P], R], common: C, partitions: Sequence[P], *, cpus: float = 1.0
    ) -> Iterator[R]:
        """``fn(common, p)`` for every partition, yielded in partition order.

        ``common`` is what every partition reads (sent to a cluster once, not once per partition);
        ``cpus`` is what one call uses, so a cluster runs no more of them at once than it has cores.
        An exception of a partition is raised where its result would have been yielded.
        """
        ...

    def close(self) -> None: ...
