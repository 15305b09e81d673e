"""``feedmix eval experiments`` end to end at a small scale: every stage runs through the real service
(the full-size figures are the README's, from the command)."""

from __future__ import annotations

from pathlib import Path

from feedmix.eval import experiment_validation as ev


def test_the_validation_runs_every_check(tmp_path: Path) -> None:
    r = ev.run(tmp_path, users=300, pre=40, post=40, aa=12, progress=False)
    aa = r["aa"]
    assert aa["runs"] == 12 and aa["units"] > 10 and 0 <= aa["false_positive_rate"] <= 1
    planted = r["planted"]
    assert sum(planted["exposed"].values()) > 10  # the live experiment exposed real requests
    assert planted["closed_loop"]["users"] > 10
    assert planted["ci95"][0] <= planted["difference"] <= planted["ci95"][1]
    losses = [row["dropped_treatment_share"] for row in r["broken_assignment"]]
    assert losses == [0.1, 0.25, 0.5] and all(row["srm"] is not None for row in r["broken_assignment"])
    table = ev.markdown(r)
    assert "A/A false-positive rate" in table and "closed loop" in table
