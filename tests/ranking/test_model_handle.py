"""ModelHandle: swapping promoted models in while requests read them, refusing bad ones."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from feedmix.ranking.model_handle import ModelHandle
from feedmix.ranking.model_registry import ModelMeta, ModelRegistry, RegistryState
from tests.ranking.toy_model import FEATURES, ToyModel, flip_byte, load_toy, register_toy

_names = itertools.count()


@pytest.fixture
def name() -> str:
    """A model name of its own per test, so the process-global metrics of one test are not another's."""
    return f"toy-{next(_names)}"


class CountingRegistry(ModelRegistry):
    """Counts reads of ``state.json``: how a test knows the watcher polled, without timing it."""

    state_reads = 0

    def state(self, name: str) -> RegistryState:
        self.state_reads += 1
        return super().state(name)


@pytest.fixture
def registry(tmp_path: Path) -> CountingRegistry:
    return CountingRegistry(tmp_path / "models")


class CountingLoader:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[Path] = []
        self._load = load_toy(delay_s)

    def __call__(self, directory: Path, meta: ModelMeta) -> ToyModel:
        self.calls.append(directory)
        return self._load(directory, meta)


class IncompatibleModel(ValueError):
    pass


def features_server_provides(available: set[str]) -> Callable[[ToyModel, ModelMeta], None]:
    def validate(model: ToyModel, meta: ModelMeta) -> None:
        missing = sorted(set(meta.features) - available)
        if missing:
            raise IncompatibleModel(f"the server cannot provide {missing}")

    return validate


def failures(name: str) -> float:
    return REGISTRY.get_sample_value("feedmix_model_load_failures_total", {"name": name}) or 0.0


def wait_for(predicate: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    """Poll until true; the deadline only bounds a hang, the test asserts no duration."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def test_reload_follows_promotions_and_rollbacks(registry: ModelRegistry, name: str) -> None:
    v1, v2 = register_toy(registry, 1.0, name), register_toy(registry, 2.0, name)
    handle = ModelHandle(registry, name, load_toy())

    assert handle.reload()["status"] == "absent"
    assert handle.current() is None

    registry.promote(name, v1.version)
    out = handle.reload()
    assert out == {"name": name, "status": "swapped", "version": v1.version, "previous": None, "reason": ""}
    cur = handle.current()
    assert cur is not None
    model, mv = cur
    assert model.ready and model.weights is not None and model.weights[0] == 1.0
    assert mv.version == v1.version and mv.meta.features == FEATURES
    assert handle.reload()["status"] == "unchanged"

    registry.promote(name, v2.version)
    assert handle.reload()["status"] == "swapped"
    assert handle.version == v2.version
    assert model.weights[0] == 1.0  # the object a request already held is untouched

    registry.rollback(name)
    out = handle.reload()
    assert (out["status"], out["version"], out["previous"]) == ("swapped", v1.version, v2.version)
    assert (
        REGISTRY.get_sample_value("feedmix_model_version_info", {"name": name, "version": v1.version}) == 1.0
    )
    assert REGISTRY.get_sample_value("feedmix_model_swaps_total", {"name": name}) == 3.0
    assert handle.describe()["version"] == v1.version


def test_a_corrupt_promoted_version_is_refused_once_and_the_old_model_keeps_serving(
    registry: ModelRegistry, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = register_toy(registry, 1.0, name), register_toy(registry, 2.0, name)
    loader = CountingLoader()
    handle = ModelHandle(registry, name, loader)
    registry.promote(name, good.version)
    handle.reload()
    registry.promote(name, bad.version)
    flip_byte(bad.path / "weights.npy")  # damaged after promotion: a bad disk, a bad copy

    out = handle.reload()
    assert out["status"] == "refused" and out["version"] == bad.version
    assert "weights.npy does not match its sha256" in out["reason"]
    assert out["previous"] == good.version
    assert handle.version == good.version
    assert failures(name) == 1.0
    assert any("refused" in r.getMessage() and bad.version in r.getMessage() for r in caplog.records)
    assert handle.describe()["last_refusal"]["version"] == bad.version

    # polled again: the same answer, without loading, logging or counting again
    caplog.clear()
    for _ in range(3):
        again = handle.reload()
        assert again["status"] == "refused" and again["reason"] == out["reason"]
    assert failures(name) == 1.0
    assert len(loader.calls) == 1
    assert not [r for r in caplog.records if r.levelname == "WARNING"]

    # a sound promotion afterwards swaps in as usual
    fixed = register_toy(registry, 3.0, name)
    registry.promote(name, fixed.version)
    assert handle.reload()["status"] == "swapped"
    assert handle.version == fixed.version


def test_validate_rejection_keeps_the_old_model_until_the_version_is_promoted_again(
    registry: ModelRegistry, name: str
) -> None:
    available = set(FEATURES)
    ok = register_toy(registry, 1.0, name)
    needs_more = register_toy(registry, 2.0, name, features=(*FEATURES, "user.embedding_v2"))
    handle = ModelHandle(registry, name, load_toy(), features_server_provides(available))
    registry.promote(name, ok.version)
    handle.reload()

    registry.promote(name, needs_more.version)
    out = handle.reload()
    assert out["status"] == "refused"
    assert out["reason"] == "IncompatibleModel: the server cannot provide ['user.embedding_v2']"
    assert handle.version == ok.version
    assert failures(name) == 1.0

    # the server learns the feature; promoting the same version again (a new promotion) retries it
    available.add("user.embedding_v2")
    assert handle.reload()["status"] == "refused"  # same promotion: not retried
    registry.rollback(name)
    assert handle.reload()["status"] == "unchanged"
    registry.promote(name, needs_more.version)
    assert handle.reload()["status"] == "swapped"
    assert handle.version == needs_more.version


def test_a_loader_that_raises_is_a_refusal_not_a_crash(registry: ModelRegistry, name: str) -> None:
    v = register_toy(registry, 1.0, name)

    def broken(directory: Path, meta: ModelMeta) -> ToyModel:
        raise OSError("cannot map weights.npy")

    handle = ModelHandle(registry, name, broken)
    registry.promote(name, v.version)
    out = handle.reload()
    assert out["status"] == "refused" and out["reason"] == "OSError: cannot map weights.npy"
    assert handle.current() is None


def test_an_unreadable_state_file_keeps_the_model_and_reports_an_error(
    registry: ModelRegistry, name: str
) -> None:
    v = register_toy(registry, 1.0, name)
    registry.promote(name, v.version)
    handle = ModelHandle(registry, name, load_toy())
    handle.reload()
    registry.state_path(name).write_text("garbage")

    out = handle.reload()
    assert out["status"] == "error" and "not a registry state" in out["reason"]
    assert handle.version == v.version
    handle.reload()
    assert failures(name) == 1.0  # one problem, counted once however often it is polled


def test_readers_never_see_none_or_a_half_loaded_model_while_versions_swap(
    registry: ModelRegistry, name: str
) -> None:
    versions = [register_toy(registry, float(i), name) for i in range(6)]
    value_of = {v.version: float(i) for i, v in enumerate(versions)}
    handle = ModelHandle(registry, name, load_toy(delay_s=0.005))
    registry.promote(name, versions[0].version)
    handle.reload()

    stop = threading.Event()
    seen: set[str] = set()
    errors: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            cur = handle.current()
            if cur is None:
                errors.append("saw None")
                return
            model, mv = cur
            if not model.ready or model.weights is None or model.features != mv.meta.features:
                errors.append(f"saw a half-loaded model of {mv.version}")
                return
            if (
                float(model.weights[0]) != value_of[mv.version]
                or not (model.weights == model.weights[0]).all()
            ):
                errors.append(f"model and version disagree: {mv.version} holds {model.weights[0]}")
                return
            seen.add(mv.version)
            reads[0] += 1

    def seen_or_failed(version: str) -> Callable[[], bool]:
        return lambda: version in seen or bool(errors)

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for t in readers:
        t.start()
    try:
        plan = [v.version for v in versions[1:]]
        for v in plan:
            registry.promote(name, v)
            assert handle.reload()["status"] == "swapped"
            wait_for(seen_or_failed(v), f"a reader to see {v}")
        for _ in range(3):
            registry.rollback(name)
            v = handle.reload()["version"]
            wait_for(seen_or_failed(v), f"a reader to see {v}")
    finally:
        stop.set()
        for t in readers:
            t.join()

    assert errors == []
    assert seen == set(value_of)
    assert reads[0] > 0


def test_the_watcher_picks_up_promotions_and_rollbacks_by_itself(
    registry: CountingRegistry, name: str
) -> None:
    v1, v2 = register_toy(registry, 1.0, name), register_toy(registry, 2.0, name)
    bad = register_toy(registry, 9.0, name, features=(*FEATURES, "user.embedding_v2"))
    loader = CountingLoader()
    handle = ModelHandle(registry, name, loader, features_server_provides(set(FEATURES)))
    registry.promote(name, v1.version)
    handle.start_watching(interval_s=0.01)
    try:
        with pytest.raises(RuntimeError, match="already being watched"):
            handle.start_watching(0.01)
        wait_for(lambda: handle.version == v1.version, "the watcher to load v1")
        registry.promote(name, v2.version)
        wait_for(lambda: handle.version == v2.version, "the watcher to swap in v2")
        registry.rollback(name)
        wait_for(lambda: handle.version == v1.version, "the watcher to roll back to v1")

        registry.promote(name, bad.version)
        wait_for(
            lambda: handle.describe()["last_refusal"] is not None, "the watcher to refuse the bad version"
        )
        polls_before = _count_polls(registry)
        assert polls_before >= 3  # the watcher kept polling ...
        assert handle.version == v1.version  # ... the old model kept serving ...
        assert failures(name) == 1.0  # ... and the refusal was counted once
        assert [p.name for p in loader.calls].count(bad.version) == 1  # loaded (and rejected) once
        assert handle.describe()["watching"]
    finally:
        handle.close()
    assert not handle.describe()["watching"]
    assert handle.version == v1.version  # closing stops watching, the model stays


def _count_polls(registry: CountingRegistry) -> int:
    """Wait until the watcher has read the state a few more times; return how many reads were seen."""
    start = registry.state_reads
    wait_for(lambda: registry.state_reads - start >= 3, "the watcher to poll three more times")
    return registry.state_reads - start


def test_watch_interval_must_be_positive(registry: ModelRegistry, name: str) -> None:
    with ModelHandle(registry, name, load_toy()) as handle, pytest.raises(ValueError, match="positive"):
        handle.start_watching(0)
