"""``feedmix eval discovery`` on a few sessions: simulated users read the discovery surface, a ranker is
trained on the earlier impressions, and every head is scored with its two baselines on the later ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from feedmix.eval.discovery import markdown, measure


def test_discovery_is_scored_against_popularity_on_held_out_sessions(tmp_path: Path) -> None:
    out = measure(sessions=200, seed=5, state_dir=tmp_path)
    assert out["impressions"] > 1000 and 0 < out["test_rows"] < out["rows"]
    assert {"click", "upvote"} <= set(out["auc"])
    for head in out["auc"].values():
        assert all(0.0 <= head[k] <= 1.0 for k in ("ranker", "heuristic", "popularity"))
    assert markdown(out).count("\n") == len(out["auc"]) + 1
    # the users read the discovery surface: every event they sent says so
    with sqlite3.connect(tmp_path / "events.db") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        assert tables
        rows = db.execute(f"select * from {tables[0]} limit 200").fetchall()
    assert rows and all('"surface":"discovery"' in str(r).replace(" ", "") for r in rows)
