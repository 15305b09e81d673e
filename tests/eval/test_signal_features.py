"""``feedmix eval signal-features`` on a few sessions: both rankers train on the same impressions, the
one with the content signals has exactly the signal features more, and every head gets both AUCs."""

from __future__ import annotations

from pathlib import Path

from feedmix.eval.signal_features import measure
from feedmix.ranking.ranker_features import SIGNAL_FEATURES


def test_the_ranker_is_trained_and_scored_with_and_without_the_signals(tmp_path: Path) -> None:
    out = measure(sessions=200, seed=3, state_dir=tmp_path)
    assert out["rows"] > 0 and out["signals_model"].startswith("student-")
    assert out["features"]["with_signals"] - out["features"]["without"] == len(SIGNAL_FEATURES)
    assert {"click", "upvote", "hide"} <= set(out["auc"])
    for head in out["auc"].values():
        assert 0.0 <= head["with_signals"] <= 1.0 and 0.0 <= head["without"] <= 1.0
        # three values, each rounded to 4 places: they may disagree by up to 1.5e-4
        assert abs(head["change"] - (head["with_signals"] - head["without"])) <= 1.5e-4 + 1e-12
