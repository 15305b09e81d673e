"""The model registry: versions on disk, promotion, rollback, verification, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from feedmix.ranking.model_registry import (
    META_FILE,
    DataWindow,
    ModelMeta,
    ModelRegistry,
    RegistryError,
    current_code_version,
)
from tests.ranking.toy_model import (
    CODE,
    FEATURES,
    flip_byte,
    meta,
    register_many,
    register_toy,
    writer,
)

VERSION_RE = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{6}$")


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def _assert_no_partial_versions(registry: ModelRegistry, name: str) -> None:
    versions_dir = registry.model_dir(name) / "versions"
    for d in versions_dir.iterdir():
        assert (d / META_FILE).is_file(), f"{d} has no meta.json"
        assert registry.verify(registry.get(name, d.name)) == []
    staging = registry.model_dir(name) / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []


# -- register, read back ----------------------------------------------------------------------------


def test_register_writes_files_and_meta_and_reads_back(registry: ModelRegistry) -> None:
    mv = register_toy(registry, 3.0)

    assert VERSION_RE.match(mv.version)
    assert mv.path == registry.root / "ranker" / "versions" / mv.version
    assert set(mv.files) == {"weights.npy", "extra/notes.txt"}
    assert np.load(mv.path / "weights.npy")[0] == 3.0
    assert not mv.promoted

    on_disk = json.loads((mv.path / META_FILE).read_text())
    assert on_disk["name"] == "ranker" and on_disk["version"] == mv.version
    assert on_disk["meta"]["features"] == list(FEATURES)
    assert on_disk["meta"]["data_window"] == {
        "start_ts": 1_700_000_000.0,
        "end_ts": 1_700_086_400.0,
        "rows": 1000,
    }
    assert on_disk["meta"]["params"]["num_leaves"] == 31
    assert on_disk["meta"]["metrics"] == {"click.auc": 0.53, "click.logloss": 0.3}
    assert on_disk["code"] == {"package_version": "0.0-test", "git_commit": "0" * 40, "git_dirty": False}
    assert on_disk["files"]["weights.npy"]["bytes"] == (mv.path / "weights.npy").stat().st_size
    assert len(on_disk["files"]["weights.npy"]["sha256"]) == 64

    again = registry.get("ranker", mv.version)
    assert again == mv
    assert registry.list("ranker") == [mv]
    assert registry.names() == ["ranker"]
    assert registry.verify(mv) == []


def test_versions_sort_by_creation_and_list_marks_the_promoted_one(registry: ModelRegistry) -> None:
    made = [register_toy(registry, float(i)).version for i in range(4)]

    listed = registry.list("ranker")
    assert [v.version for v in listed] == sorted(made)
    assert [v.created_at for v in listed] == sorted(v.created_at for v in listed)
    assert registry.promoted("ranker") is None

    registry.promote("ranker", made[1])
    flags = {v.version: v.promoted for v in registry.list("ranker")}
    assert flags == {v: v == made[1] for v in made}
    promoted = registry.promoted("ranker")
    assert promoted is not None and promoted.version == made[1] and promoted.promoted
    assert registry.get("ranker", made[1]).promoted


def test_code_version_defaults_to_the_checkout_commit(registry: ModelRegistry) -> None:
    code = current_code_version()
    mv = registry.register("ranker", writer(1.0), meta())

    assert mv.code == code
    assert code.package_version
    if code.git_commit is not None:  # this repository is a checkout; an installed copy is not
        assert re.fullmatch(r"[0-9a-f]{40}", code.git_commit)
        assert isinstance(code.git_dirty, bool)
        assert code.describe().startswith(code.git_commit[:12])
    else:
        assert code.describe().startswith("feedmix ")


def test_models_are_independent_by_name(registry: ModelRegistry) -> None:
    a = register_toy(registry, 1.0, name="ranker")
    b = register_toy(registry, 2.0, name="ads-pctr")
    registry.promote("ads-pctr", b.version)

    assert registry.promoted("ranker") is None
    assert [v.version for v in registry.list("ranker")] == [a.version]
    assert registry.names() == ["ads-pctr", "ranker"]
    with pytest.raises(RegistryError, match="'ranker' has no version"):
        registry.get("ranker", b.version)


# -- promote and roll back --------------------------------------------------------------------------


def test_promote_then_rollback_walks_back_the_promotion_stack(registry: ModelRegistry) -> None:
    v1, v2, v3 = (register_toy(registry, float(i)).version for i in range(3))
    registry.promote("ranker", v1)
    registry.promote("ranker", v2)
    registry.promote("ranker", v3)
    registry.promote("ranker", v3)  # repeating a promotion changes nothing

    assert registry.rollback("ranker").version == v2
    assert registry.state("ranker").promoted == v2
    assert registry.rollback("ranker").version == v1
    with pytest.raises(RegistryError, match=f"no earlier promoted version.*{v1}"):
        registry.rollback("ranker")
    assert registry.state("ranker").promoted == v1

    state = registry.state("ranker")
    assert [(e.action, e.version, e.previous) for e in state.history] == [
        ("promote", v1, None),
        ("promote", v2, v1),
        ("promote", v3, v2),
        ("rollback", v2, v3),
        ("rollback", v1, v2),
    ]
    assert state.serial == 5


def test_rollback_with_nothing_promoted_says_so(registry: ModelRegistry) -> None:
    register_toy(registry, 1.0)
    with pytest.raises(RegistryError, match="nothing is promoted"):
        registry.rollback("ranker")


def test_promote_refuses_unknown_and_malformed_versions(registry: ModelRegistry) -> None:
    register_toy(registry, 1.0)
    with pytest.raises(RegistryError, match=r"'ranker' has no version '20200101T000000000Z-abcdef'"):
        registry.promote("ranker", "20200101T000000000Z-abcdef")
    with pytest.raises(RegistryError, match="versions look like"):
        registry.promote("ranker", "../../etc")
    with pytest.raises(RegistryError, match="invalid model name"):
        registry.promote("../x", "20200101T000000000Z-abcdef")
    assert registry.state("ranker").promoted is None


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "delete", "extra"],
)
def test_promote_refuses_a_version_whose_files_fail_verification(
    registry: ModelRegistry, damage: str
) -> None:
    good = register_toy(registry, 1.0)
    bad = register_toy(registry, 2.0)
    registry.promote("ranker", good.version)
    weights = bad.path / "weights.npy"
    if damage == "flip":
        flip_byte(weights)
        expected = "weights.npy does not match its sha256"
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-8])
        expected = "weights.npy has .* bytes"
    elif damage == "delete":
        weights.unlink()
        expected = "weights.npy is missing"
    else:
        (bad.path / "stray.bin").write_bytes(b"x")
        expected = "stray.bin was not part of the registered version"

    assert registry.verify(bad) != []
    with pytest.raises(RegistryError, match=f"refusing to promote {bad.version}.*{expected}"):
        registry.promote("ranker", bad.version)
    assert registry.state("ranker").promoted == good.version


def test_rollback_refuses_a_target_that_became_corrupt(registry: ModelRegistry) -> None:
    v1, v2 = register_toy(registry, 1.0), register_toy(registry, 2.0)
    registry.promote("ranker", v1.version)
    registry.promote("ranker", v2.version)
    flip_byte(v1.path / "weights.npy", offset=200)

    with pytest.raises(RegistryError, match=f"refusing to roll back to {v1.version}"):
        registry.rollback("ranker")
    assert registry.state("ranker").promoted == v2.version


def test_a_damaged_state_file_is_a_clear_error(registry: ModelRegistry) -> None:
    v = register_toy(registry, 1.0)
    registry.promote("ranker", v.version)
    registry.state_path("ranker").write_text("{not json")
    with pytest.raises(RegistryError, match=r"state\.json is not a registry state"):
        registry.promoted("ranker")


def test_list_skips_an_unreadable_version_and_get_names_the_problem(registry: ModelRegistry) -> None:
    good, bad = register_toy(registry, 1.0), register_toy(registry, 2.0)
    (bad.path / META_FILE).write_text("[]")

    assert [v.version for v in registry.list("ranker")] == [good.version]
    with pytest.raises(RegistryError, match=f"{bad.version}: .*meta.json is unusable"):
        registry.get("ranker", bad.version)


# -- what register refuses ------------------------------------------------------------------------


def test_register_rejects_bad_metadata_with_named_reasons() -> None:
    window = DataWindow(0.0, 10.0, 5)
    with pytest.raises(RegistryError, match=r"starts .* after it ends"):
        DataWindow(10.0, 0.0, 1)
    with pytest.raises(RegistryError, match="rows must be >= 0"):
        DataWindow(0.0, 1.0, -1)
    with pytest.raises(RegistryError, match=r"more than once.*'a'"):
        ModelMeta(window, ("a", "b", "a"))
    with pytest.raises(RegistryError, match="metric 'auc' must be a finite number"):
        ModelMeta(window, ("a",), metrics={"auc": float("nan")})
    with pytest.raises(RegistryError, match="params must be JSON values"):
        ModelMeta(window, ("a",), params={"f": object()})


def test_failed_or_empty_writes_leave_no_version(registry: ModelRegistry) -> None:
    def boom(d: Path) -> None:
        (d / "half.bin").write_bytes(b"12")
        raise RuntimeError("trainer crashed")

    with pytest.raises(RuntimeError, match="trainer crashed"):
        registry.register("ranker", boom, meta(), code_version=CODE)
    with pytest.raises(RegistryError, match="wrote no files"):
        registry.register("ranker", lambda d: None, meta(), code_version=CODE)

    def writes_meta(d: Path) -> None:
        (d / META_FILE).write_text("{}")

    with pytest.raises(RegistryError, match=r"meta\.json, which the registry owns"):
        registry.register("ranker", writes_meta, meta(), code_version=CODE)

    def link(d: Path) -> None:
        (d / "real.bin").write_bytes(b"1")
        (d / "alias.bin").symlink_to(d / "real.bin")

    with pytest.raises(RegistryError, match=r"alias\.bin is not a regular file"):
        registry.register("ranker", link, meta(), code_version=CODE)

    assert registry.list("ranker") == []
    _assert_no_partial_versions(registry, "ranker")


def _die_halfway(root: str) -> None:
    def write(d: Path) -> None:
        (d / "weights.npy").write_bytes(b"half a model")
        os._exit(3)  # the process dies mid-registration: no cleanup runs

    ModelRegistry(root).register("ranker", write, meta(), code_version=CODE)


def test_a_process_that_dies_mid_registration_leaves_no_visible_version(registry: ModelRegistry) -> None:
    register_toy(registry, 1.0)
    proc = multiprocessing.get_context("spawn").Process(target=_die_halfway, args=(str(registry.root),))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == 3

    assert len(registry.list("ranker")) == 1
    assert len(list((registry.model_dir("ranker") / "versions").iterdir())) == 1
    # the leftovers are in staging, where no reader looks
    assert len(list((registry.model_dir("ranker") / ".staging").iterdir())) == 1


# -- concurrency ----------------------------------------------------------------------------------


def test_concurrent_registration_from_threads_and_processes_yields_distinct_whole_versions(
    registry: ModelRegistry,
) -> None:
    root = str(registry.root)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        in_processes = pool.starmap_async(register_many, [(root, "ranker", 3, 3)] * 3)
        in_threads = register_many(root, "ranker", 4, 3)  # while the processes run
        from_processes = [v for vs in in_processes.get(timeout=240) for v in vs]

    made = from_processes + in_threads
    assert len(made) == 3 * 9 + 12
    assert len(set(made)) == len(made)
    assert sorted(v.version for v in registry.list("ranker")) == sorted(made)
    _assert_no_partial_versions(registry, "ranker")


def test_concurrent_promotions_keep_the_state_consistent(registry: ModelRegistry) -> None:
    versions = [register_toy(registry, float(i)).version for i in range(6)]
    barrier = threading.Barrier(6)

    def promote(v: str) -> None:
        barrier.wait()
        for _ in range(5):
            ModelRegistry(registry.root).promote("ranker", v)

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    state = registry.state("ranker")
    # every promotion that changed something is in the log, in order, each naming the one before it
    assert state.serial == len(state.history) == len(state.stack)
    for before, after in zip(state.history, state.history[1:], strict=False):
        assert after.previous == before.version
    assert state.promoted == state.history[-1].version == state.stack[-1]
