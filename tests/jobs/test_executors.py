"""The executor contract, on the local executor and on Ray tasks in a real cluster (``ray_executor``):
results in partition order, ``common`` reaching every partition, a partition's failure raised."""

from __future__ import annotations

import os
from typing import Any

import pytest

from feedmix.jobs.backends import make_executor
from feedmix.jobs.executor import Executor


def scaled(common: dict[str, int], p: int) -> tuple[int, int]:
    return p * common["factor"], os.getpid()


def fails_on_three(common: None, p: int) -> int:
    if p == 3:
        raise ArithmeticError(f"partition {p} failed")
    return p


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest) -> Executor:
    if request.param == "local":
        return make_executor("local")
    ray: Executor = request.getfixturevalue("ray_executor")
    return ray


def test_results_come_in_partition_order_with_the_common_input(executor: Executor) -> None:
    out = list(executor.map(scaled, {"factor": 3}, list(range(20))))
    assert [v for v, _ in out] == [3 * p for p in range(20)]
    pids = {pid for _, pid in out}
    if executor.name == "local":
        assert pids == {os.getpid()} and executor.parallelism == 1
    else:  # tasks ran in the cluster's worker processes, on its two cores
        assert os.getpid() not in pids and executor.parallelism == 2


def test_a_failing_partition_raises_where_its_result_would_be(executor: Executor) -> None:
    results = executor.map(fails_on_three, None, [0, 1, 2, 3, 4])
    assert [next(results), next(results), next(results)] == [0, 1, 2]
    with pytest.raises(ArithmeticError, match="partition 3 failed"):
        next(results)


def test_the_local_executor_runs_a_partition_when_its_result_is_read() -> None:
    seen: list[int] = []

    def record(common: Any, p: int) -> int:
        seen.append(p)
        return p

    results = make_executor("local").map(record, None, [1, 2, 3])
    assert seen == []
    assert next(results) == 1 and seen == [1]


def test_backends_name_the_executors_and_explain_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_executor("local").name == "local"
    with pytest.raises(ValueError, match="unknown executor 'spark'"):
        make_executor("spark")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="needs the cluster's address"):
        make_executor("ray")
