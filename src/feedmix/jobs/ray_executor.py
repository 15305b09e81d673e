"""Partitions as Ray tasks on a running cluster (``ray start --head`` on one machine, ``ray start
--address=...`` on the others), joined by address.

Every partition is submitted at once and the cluster schedules them by ``cpus``; results are read
back in partition order. ``common`` goes into the object store once and every task reads it from
there. Tasks are not retried: a job's partitions write nothing a second attempt could collide with,
but a failure should be seen, not hidden behind a retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import ray

C = TypeVar("C")
P = TypeVar("P")
R = TypeVar("R")


class RayExecutor:
    name = "ray"

    def __init__(self, address: str) -> None:
        """Connect to the cluster at ``address`` (``host:port`` of its head, or ``auto``), unless this
        process is connected already (then that connection is used and left open by ``close``)."""
        self.address = address
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)

    @property
    def parallelism(self) -> int:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        return max(1, int(resources.get("CPU", 1)))

    def map(
        self, fn: Callable[[C, P], R], common: C, partitions: Sequence[P], *, cpus: float = 1.0
    ) -> Iterator[R]:
        task: Any = ray.remote(num_cpus=cpus, max_retries=0)(fn)
        shared = ray.put(common)
        refs = [task.remote(shared, p) for p in partitions]
        return _in_order(refs)

    def close(self) -> None:
        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._owns = False


def _in_order(refs: list[Any]) -> Iterator[Any]:
    read = 0
    try:
        for ref in refs:
            yield ray.get(ref)
            read += 1
    finally:
        for ref in refs[read + 1 :]:  # a reader that stopped early (or a failure) cancels the rest
            ray.cancel(ref)
