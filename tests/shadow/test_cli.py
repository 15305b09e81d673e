"""``feedmix shadow report|gate`` over records a real shadow wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedmix import cli
from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime

GATES = {"rbo": {"min": 0.0, "min_vs_noise": 0.01}, "error_rate_delta": {"max": 0.0}}


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("state")
    cfg = FeedmixConfig(
        state_dir=str(state),
        users=200,
        ads_enabled=False,
        shadows={
            "blind": {
                "pipeline": "home",
                "sample_rate": 1.0,
                "params": {"heuristic_scorer.w_affinity": 0.0},
                "gates": GATES,
            }
        },
    )
    path = state / "feedmix.toml"
    path.write_text(cfg.to_toml())
    rt = Runtime.build(FeedmixConfig.from_toml(path))
    try:
        for i in range(1, 21):
            rt.feeds.feed("home", f"u{i:04d}", limit=10)
        assert rt.shadows is not None and rt.shadows.drain()
    finally:
        rt.close()
    return path


def test_the_config_round_trips_a_shadow_table(config_file: Path) -> None:
    table = FeedmixConfig.from_toml(config_file).shadows["blind"]
    assert table["params"] == {"heuristic_scorer.w_affinity": 0.0} and table["gates"] == GATES


def test_report_prints_every_metric_with_its_noise(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert cli.main(["shadow", "report", "blind", "--config", str(config_file), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| rbo |" in text and "20 records" in text
    report = json.loads(out.read_text())["report"]
    assert report["requests"] == 20 and report["metrics"]["rbo"]["noise"] is not None


def test_gate_passes_and_fails_by_its_bounds(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["shadow", "gate", "blind", "--config", str(config_file)]) == 0
    assert "blind: passed" in capsys.readouterr().out
    strict = json.dumps({"rbo": {"min_vs_noise": 1.0}})  # as close to production as production itself
    assert cli.main(["shadow", "gate", "blind", "--config", str(config_file), "--gates", strict]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert (
        cli.main(["shadow", "gate", "blind", "--config", str(config_file), "--gates", '{"rbbo": {"min": 1}}'])
        == 2
    )
    assert "rbbo" in capsys.readouterr().err


def test_a_shadow_without_records_is_an_error(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["shadow", "report", "nope", "--config", str(config_file)]) == 2
    assert "no records" in capsys.readouterr().err
