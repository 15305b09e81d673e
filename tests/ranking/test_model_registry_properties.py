"""Property: any sequence of promote and rollback leaves the registry where a plain stack says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedmix.ranking.model_registry import ModelRegistry, RegistryError
from tests.ranking.toy_model import register_toy

N_VERSIONS = 4

#: ("promote", i) promotes the i-th version; ("rollback", 0) rolls back
ops = st.lists(
    st.one_of(
        st.tuples(st.just("promote"), st.integers(0, N_VERSIONS - 1)),
        st.tuples(st.just("rollback"), st.just(0)),
    ),
    max_size=25,
)


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRegistry, list[str]]:
    registry = ModelRegistry(Path(tmp_path_factory.mktemp("registry")))
    return registry, [register_toy(registry, float(i)).version for i in range(N_VERSIONS)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops)
def test_promote_and_rollback_match_a_stack_model(
    populated: tuple[ModelRegistry, list[str]], ops: list[tuple[str, int]]
) -> None:
    registry, versions = populated
    registry.state_path("ranker").unlink(missing_ok=True)  # a fresh history for every example
    stack: list[str] = []  # the reference: promotions not yet undone, oldest first
    changes = 0

    for op, i in ops:
        if op == "promote":
            got = registry.promote("ranker", versions[i])
            assert got.version == versions[i] and got.promoted
            if not stack or stack[-1] != versions[i]:
                stack.append(versions[i])
                changes += 1
        elif len(stack) < 2:
            with pytest.raises(RegistryError):
                registry.rollback("ranker")
        else:
            stack.pop()
            changes += 1
            assert registry.rollback("ranker").version == stack[-1]

        promoted = registry.promoted("ranker")
        assert (promoted.version if promoted else None) == (stack[-1] if stack else None)
        state = registry.state("ranker")
        assert state.stack == tuple(stack)
        assert state.serial == len(state.history) == changes
        assert [v.version for v in registry.list("ranker") if v.promoted] == stack[-1:]
