"""``feedmix eval loop`` runs the whole loop at a small size and prints its tables and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedmix import cli


def test_eval_loop_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 180 sessions: at 120 the comment head sometimes had fewer than the 20 positives training needs
    # per slice (how many depends on the run: deadlines under CPU contention change the pages)
    out = tmp_path / "loop.json"
    args = ["eval", "loop", "--users", "300", "--collect", "180", "--compare", "30", "--no-progress"]
    assert cli.main([*args, "--state", str(tmp_path / "state"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| head | trained ranker AUC |" in printed and "| trained ranker, no rules |" in printed
    result = json.loads(out.read_text())
    assert set(result["model"]["heads"]) == {"click", "upvote", "comment", "hide"}
    for head in result["model"]["heads"].values():
        assert 0.0 <= head["auc"] <= 1.0 and 0.0 <= head["heuristic_auc"] <= 1.0
    loop = result["closed_loop"]
    assert loop["sessions"] == 30 and loop["difference"]["ci95"] is not None
    assert result["arms"]["ranker"]["impressions"] > 0 and result["arms"]["heuristic"]["errors"] == {}
    assert result["closed_loop_no_rules"]["sessions"] == 30
    # the registry under the state dir holds the promoted model the ranker arm served
    assert list((tmp_path / "state" / "collect" / "models" / "ranker" / "versions").iterdir())
