"""``feedmix bench ads`` at a tiny size: valid JSON with the figures, never a speed assertion."""

from __future__ import annotations

import json

import pytest

from feedmix.bench.ads import main


def test_bench_main_prints_a_valid_report(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "ads.json"
    assert main(["--groups", "200,400", "--requests", "30", "--no-progress", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == report
    assert [s["ad_groups"] for s in report["sizes"]] == [200, 400]
    for size in report["sizes"]:
        row = size["in_process"]
        assert 0 < row["p50_ms"] <= row["p99_ms"] and row["cpu_p50_ms"] >= 0
        assert row["degraded"] == 0 and row["winners_per_decision"] > 0
        assert size["index_build_s"] >= 0 and size["index_array_mb"] > 0
