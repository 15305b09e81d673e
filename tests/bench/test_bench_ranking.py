"""``feedmix bench ranking`` end to end at toy size: valid JSON with every figure the issue asks for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from feedmix.bench import ranking as bench
from feedmix.ranking.inference import DEFAULT_TOLERANCE


def test_main_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    argv = ["--candidates", "50", "--features", "10", "--trees", "5", "--repeats", "5"]
    argv += ["--train-rows", "3000", "--leaves", "7", "--no-progress", "--out", str(out)]
    assert bench.main(argv) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert captured.err == ""  # --no-progress: nothing on stderr
    assert json.loads(out.read_text()) == report

    assert report["bench"] == "ranking"
    config = report["config"]
    assert (config["candidates"], config["features"], config["trees"], config["repeats"]) == (50, 10, 5, 5)
    assert config["heads"] == ["click", "upvote", "comment", "hide"]
    assert config["inference_threads"] == 1
    assert set(report["runtimes"]) == {"native", "lleaves", "chosen"}
    for timing in report["runtimes"].values():
        for key in ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "cpu_thread_mean_ms", "cpu_process_mean_ms"):
            assert timing[key] >= 0
        assert set(timing["per_head_p50_ms"]) == set(config["heads"])
    assert set(report["speedup_p50_vs_native"]) == {"lleaves", "chosen"}
    compile_report = report["compile"]["lleaves"]
    assert all(compile_report["second_load_from_cache"].values())
    assert set(compile_report["first_load_s"]) == set(config["heads"])
    assert all(d <= DEFAULT_TOLERANCE for d in report["max_abs_diff_vs_native"]["lleaves"].values())
    for head in config["heads"]:
        assert report["choose_runtime"][head]["runtime"] in ("native", "lleaves")
        assert report["choose_runtime"][head]["reason"]
    assert report["environment"]["lightgbm"] == "4.7.0"
    assert report["training"]["model_dir"] is None  # temporary directory, removed


def test_work_dir_keeps_models_and_compiled_artifacts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--candidates", "20", "--features", "6", "--trees", "3", "--repeats", "2", "--heads", "2"]
    argv += ["--train-rows", "2000", "--leaves", "4", "--no-progress", "--work-dir", str(tmp_path)]
    assert bench.main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    model_dir = Path(first["training"]["model_dir"])
    assert model_dir.parent == tmp_path and not first["training"]["reused_models"]
    assert sorted(p.name for p in model_dir.glob("*.txt")) == ["click.txt", "upvote.txt"]
    assert len(list((model_dir / "compiled").glob("lleaves-*.o"))) == 2
    assert bench.main([*argv, "--candidates", "30"]) == 0  # same training settings: models and objects reused
    second = json.loads(capsys.readouterr().out)
    assert second["training"]["reused_models"] and second["training"]["model_dir"] == str(model_dir)
    assert second["config"]["candidates"] == 30
    assert not any(first["compile"]["lleaves"]["first_load_from_cache"].values())
    assert all(second["compile"]["lleaves"]["first_load_from_cache"].values())
    assert len(list((model_dir / "compiled").glob("lleaves-*.o"))) == 2


def test_rejects_nonsense_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--candidates", "0"])
    assert "--candidates must be at least 1" in capsys.readouterr().err


def test_synthetic_data_is_seeded_and_has_every_feature_kind() -> None:
    a = bench.synthetic_features(np.random.default_rng(1), 2000, 20)
    b = bench.synthetic_features(np.random.default_rng(1), 2000, 20)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.flags.c_contiguous
    assert np.isnan(a).any()  # missing values exercise default-direction branches
    labels = bench.synthetic_labels(np.random.default_rng(1), a, bench.head_names(5))
    assert list(labels) == ["click", "upvote", "comment", "hide", "head4"]
    assert 0 < labels["hide"].mean() < labels["click"].mean() < 0.5
