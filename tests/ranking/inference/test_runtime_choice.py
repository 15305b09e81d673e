"""choose_runtime serves the fastest runtime that matches native, and native whenever anything is off."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from feedmix.ranking.inference import (
    DEFAULT_TOLERANCE,
    LleavesScorer,
    MultiHeadScorer,
    NativeLightGBMScorer,
    choose_runtime,
)
from feedmix.ranking.inference.tree_scorer import Scores
from tests.ranking.inference.conftest import TinyModels


class OffsetScorer:
    """Native scores plus a fixed offset: a compiled form that walks the trees slightly wrong."""

    def __init__(self, model_file: Path, offset: float) -> None:
        self.name = "offset"
        self._native = NativeLightGBMScorer(model_file)
        self._offset = offset

    def predict(self, X: npt.NDArray[np.float32]) -> Scores:
        return self._native.predict(X) + self._offset


class SlowScorer(OffsetScorer):
    """Exactly native's scores, but 20 ms late: agrees, and must lose on speed."""

    def predict(self, X: npt.NDArray[np.float32]) -> Scores:
        time.sleep(0.02)
        return super().predict(X)


class BrokenScorer:
    name = "broken"

    def __init__(self, output: Any) -> None:
        self._output = output

    def predict(self, X: npt.NDArray[np.float32]) -> Any:
        if isinstance(self._output, Exception):
            raise self._output
        return self._output


def test_picks_a_compiled_runtime_that_agrees(tiny_models: TinyModels, tmp_path: Path) -> None:
    scorer, report = choose_runtime(tiny_models.files["click"], tiny_models.X, cache_dir=tmp_path)
    native = NativeLightGBMScorer(tiny_models.files["click"]).predict(tiny_models.X)
    assert report["tolerance"] == DEFAULT_TOLERANCE
    assert report["sample_rows"] == tiny_models.X.shape[0]
    lleaves_entry = report["runtimes"]["lleaves"]
    assert lleaves_entry["status"] == "agrees" and lleaves_entry["max_abs_diff"] <= DEFAULT_TOLERANCE
    assert {"median_ms", "load_s", "from_cache", "compile_s"} <= set(lleaves_entry)
    assert "median_ms" in report["runtimes"]["native"]
    assert report["chosen"] in ("lleaves", "native")  # which is faster is the machine's call
    assert scorer.name == report["chosen"] and report["reason"].startswith(report["chosen"])
    assert np.max(np.abs(scorer.predict(tiny_models.X) - native)) <= DEFAULT_TOLERANCE


def test_default_cache_dir_is_next_to_the_model_file(tiny_models: TinyModels, tmp_path: Path) -> None:
    model = tmp_path / "click.txt"
    model.write_bytes(tiny_models.files["click"].read_bytes())
    _, report = choose_runtime(model, tiny_models.X)
    assert report["runtimes"]["lleaves"]["status"] == "agrees"
    assert list((tmp_path / "compiled").glob("lleaves-*.o"))
    _, again = choose_runtime(model, tiny_models.X)
    assert again["runtimes"]["lleaves"]["from_cache"] is True


def test_falls_back_to_native_when_compilation_fails(
    tiny_models: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> LleavesScorer:
        raise RuntimeError("LLVM ERROR: out of registers")

    monkeypatch.setattr(LleavesScorer, "load", fail)
    scorer, report = choose_runtime(tiny_models.files["click"], tiny_models.X, cache_dir=tmp_path)
    assert scorer.name == "native" and report["chosen"] == "native"
    assert report["runtimes"]["lleaves"]["status"] == "failed"
    assert "out of registers" in report["runtimes"]["lleaves"]["reason"]
    assert "out of registers" in report["reason"]


def test_falls_back_to_native_when_the_compiler_is_not_installed(
    tiny_models: TinyModels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "lleaves", None)  # makes `import lleaves` raise ImportError
    scorer, report = choose_runtime(tiny_models.files["click"], tiny_models.X, cache_dir=tmp_path)
    assert scorer.name == "native"
    assert report["runtimes"]["lleaves"]["status"] == "unavailable"


def test_falls_back_to_native_when_a_compiled_scorer_disagrees(
    tiny_models: TinyModels, tmp_path: Path
) -> None:
    scorer, report = choose_runtime(
        tiny_models.files["click"],
        tiny_models.X,
        cache_dir=tmp_path,
        runtimes={"offset": lambda f, d: OffsetScorer(f, 1e-3)},
    )
    assert scorer.name == "native"
    entry = report["runtimes"]["offset"]
    assert entry["status"] == "disagrees"
    assert entry["max_abs_diff"] == pytest.approx(1e-3)
    assert "tolerance" in entry["reason"]


def test_rounding_noise_within_tolerance_is_accepted(tiny_models: TinyModels, tmp_path: Path) -> None:
    _, report = choose_runtime(
        tiny_models.files["click"],
        tiny_models.X,
        cache_dir=tmp_path,
        runtimes={"offset": lambda f, d: OffsetScorer(f, 3e-7)},  # about what float32 accumulation gives
    )
    assert report["runtimes"]["offset"]["status"] == "agrees"


@pytest.mark.parametrize(
    ("output", "status"),
    [
        (RuntimeError("segfault avoided"), "failed"),
        (np.zeros(3), "disagrees"),  # wrong length
        ("nan", "disagrees"),
    ],
)
def test_misbehaving_scorers_are_rejected(
    tiny_models: TinyModels, tmp_path: Path, output: Any, status: str
) -> None:
    if isinstance(output, str) and output == "nan":
        output = np.full(tiny_models.X.shape[0], np.nan)
    scorer, report = choose_runtime(
        tiny_models.files["click"],
        tiny_models.X,
        cache_dir=tmp_path,
        runtimes={"broken": lambda f, d: BrokenScorer(output)},
    )
    assert scorer.name == "native" and report["runtimes"]["broken"]["status"] == status


def test_an_agreeing_but_slower_runtime_is_not_chosen(tiny_models: TinyModels, tmp_path: Path) -> None:
    scorer, report = choose_runtime(
        tiny_models.files["click"],
        tiny_models.X,
        cache_dir=tmp_path,
        runtimes={"slow": lambda f, d: SlowScorer(f, 0.0)},
        repeats=3,
    )
    assert report["runtimes"]["slow"]["status"] == "agrees"
    assert scorer.name == "native" and "slower than native" in report["reason"]


def test_accepts_a_booster_and_caches_its_model_text(tiny_models: TinyModels, tmp_path: Path) -> None:
    booster = tiny_models.boosters["hide"]
    with pytest.raises(ValueError, match="cache_dir"):
        choose_runtime(booster, tiny_models.X)
    _, first = choose_runtime(booster, tiny_models.X, cache_dir=tmp_path)
    _, second = choose_runtime(booster, tiny_models.X, cache_dir=tmp_path)
    assert first["runtimes"]["lleaves"]["status"] == "agrees"
    assert second["runtimes"]["lleaves"]["from_cache"] is True
    assert len(list(tmp_path.glob("model-*.txt"))) == 1


def test_rejects_samples_that_cannot_check_anything(tiny_models: TinyModels, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no rows"):
        choose_runtime(tiny_models.files["click"], tiny_models.X[:0], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="features"):
        choose_runtime(tiny_models.files["click"], tiny_models.X[:, :3], cache_dir=tmp_path)


def test_multi_head_scores_every_head_over_one_matrix(tiny_models: TinyModels, tmp_path: Path) -> None:
    served = MultiHeadScorer.choose(tiny_models.files, tiny_models.X, cache_dir=tmp_path)
    assert list(served.heads) == ["click", "hide"]
    assert set(served.reports) == {"click", "hide"}
    assert set(served.runtimes.values()) <= {"native", "lleaves"}
    by_head = served.predict(tiny_models.X)
    matrix = served.predict_matrix(tiny_models.X)
    assert matrix.shape == (tiny_models.X.shape[0], 2) and matrix.dtype == np.float64
    for j, (head, path) in enumerate(tiny_models.files.items()):
        native = NativeLightGBMScorer(path).predict(tiny_models.X)
        assert np.max(np.abs(by_head[head] - native)) <= DEFAULT_TOLERANCE
        np.testing.assert_array_equal(matrix[:, j], by_head[head])


def test_multi_head_rejects_heads_of_different_widths(tiny_models: TinyModels) -> None:
    class Narrow(OffsetScorer):
        n_features = 3

    with pytest.raises(ValueError, match="different feature counts"):
        MultiHeadScorer(
            {
                "click": NativeLightGBMScorer(tiny_models.files["click"]),
                "x": Narrow(tiny_models.files["click"], 0),
            }
        )
    with pytest.raises(ValueError, match="at least one head"):
        MultiHeadScorer({})
