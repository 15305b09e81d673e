"""Native and compiled scorers on real (tiny) LightGBM models: same scores, one thread, cached compiles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightgbm as lgb
import lleaves
import lleaves.compiler
import numpy as np
import pytest

from feedmix.ranking.inference import (
    DEFAULT_TOLERANCE,
    LleavesScorer,
    NativeLightGBMScorer,
    TreeScorer,
    as_feature_matrix,
)
from feedmix.ranking.inference.compiled_artifact_cache import default_cache_dir
from tests.ranking.inference.conftest import TinyModels


def test_native_returns_probabilities_equal_to_lightgbm(tiny_models: TinyModels) -> None:
    for head, path in tiny_models.files.items():
        scorer = NativeLightGBMScorer(path)
        got = scorer.predict(tiny_models.X)
        assert isinstance(scorer, TreeScorer)
        assert got.dtype == np.float64 and got.shape == (tiny_models.X.shape[0],)
        assert np.all((got > 0) & (got < 1))
        np.testing.assert_array_equal(got, tiny_models.boosters[head].predict(tiny_models.X))


def test_native_asks_lightgbm_for_one_thread_on_every_call(
    tiny_models: TinyModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    original = lgb.Booster.predict

    def spy(self: lgb.Booster, data: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    scorer = NativeLightGBMScorer(tiny_models.boosters["click"])
    scorer.predict(tiny_models.X)
    scorer.predict(tiny_models.X[:7])
    assert len(calls) == 2
    assert all(c.get("num_threads") == 1 for c in calls)
    assert all(not c.get("raw_score") for c in calls)


def test_lleaves_calls_the_compiled_function_on_the_calling_thread(
    tiny_models: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs: list[Any] = []
    original = lleaves.Model.predict

    def spy(self: Any, data: Any, n_jobs: Any = None) -> Any:
        jobs.append(n_jobs)
        return original(self, data, n_jobs=n_jobs)

    monkeypatch.setattr(lleaves.Model, "predict", spy)
    scorer = LleavesScorer.load(tiny_models.files["click"], tmp_path)
    scorer.predict(tiny_models.X)
    assert jobs == [1]  # n_jobs=1: no per-call thread pool (None would mean one thread per core)


@pytest.mark.parametrize("head", ["click", "hide"])
def test_lleaves_agrees_with_native_including_nan_and_threshold_rows(
    tiny_models: TinyModels, tmp_path: Path, head: str
) -> None:
    native = NativeLightGBMScorer(tiny_models.files[head]).predict(tiny_models.X)
    compiled = LleavesScorer.load(tiny_models.files[head], tmp_path).predict(tiny_models.X)
    assert compiled.dtype == np.float64 and compiled.shape == native.shape
    assert np.max(np.abs(compiled - native)) <= DEFAULT_TOLERANCE
    # lleaves evaluates in double precision like LightGBM: in practice equal to the last bits
    assert np.max(np.abs(compiled - native)) < 1e-12


def test_second_load_reads_the_cached_object_instead_of_compiling(
    tiny_models: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiles: list[str] = []
    original = lleaves.compiler.compile_to_module

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiles.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(lleaves.compiler, "compile_to_module", counting)
    first = LleavesScorer.load(tiny_models.files["click"], tmp_path)
    assert not first.from_cache and len(compiles) == 1
    assert first.artifact.exists() and first.artifact.with_suffix(".json").exists()
    mtime = first.artifact.stat().st_mtime_ns

    second = LleavesScorer.load(tiny_models.files["click"], tmp_path)
    assert second.from_cache and len(compiles) == 1  # no second compilation
    assert second.artifact == first.artifact and second.artifact.stat().st_mtime_ns == mtime
    np.testing.assert_array_equal(second.predict(tiny_models.X), first.predict(tiny_models.X))
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # no leftovers


def test_cache_key_follows_the_model_file_content(tiny_models: TinyModels, tmp_path: Path) -> None:
    click = LleavesScorer.load(tiny_models.files["click"], tmp_path)
    hide = LleavesScorer.load(tiny_models.files["hide"], tmp_path)
    assert click.artifact != hide.artifact

    # Same path, retrained content: the old object must not be served for it.
    model = tmp_path / "model.txt"
    model.write_bytes(tiny_models.files["click"].read_bytes())
    before = LleavesScorer.load(model, tmp_path)
    model.write_bytes(tiny_models.files["hide"].read_bytes())
    after = LleavesScorer.load(model, tmp_path)
    assert before.from_cache and after.from_cache  # both contents were compiled above
    assert after.artifact == hide.artifact
    np.testing.assert_array_equal(
        after.predict(tiny_models.X), NativeLightGBMScorer(tiny_models.files["hide"]).predict(tiny_models.X)
    )


def test_default_cache_dir_is_next_to_the_model(tiny_models: TinyModels, tmp_path: Path) -> None:
    model = tmp_path / "models" / "click.txt"
    model.parent.mkdir()
    model.write_bytes(tiny_models.files["click"].read_bytes())
    scorer = LleavesScorer.load(model)
    assert scorer.artifact.parent == default_cache_dir(model) == model.parent.resolve() / "compiled"


def test_feature_matrix_is_checked_and_made_contiguous_float32() -> None:
    X = np.arange(24, dtype=np.float64).reshape(4, 6)[:, ::2]
    got = as_feature_matrix(X, 3)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, X)
    same = np.zeros((2, 3), dtype=np.float32)
    assert as_feature_matrix(same, 3) is same  # no copy when already right
    with pytest.raises(ValueError, match="expects 3 features"):
        as_feature_matrix(np.zeros((2, 4), dtype=np.float32), 3)
    with pytest.raises(ValueError, match="2-D"):
        as_feature_matrix(np.zeros(3, dtype=np.float32), 3)
