"""Judgements cached by (judge, prompt digest, post id) in SQLite: asking a paid or slow model the same
question twice is waste, and a rerun after a crash resumes from what was answered. Errors are not cached,
so a timed-out post is asked again next run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from feedmix.signals.judges.judge import Judgement

_SCHEMA = """
CREATE TABLE IF NOT EXISTS judgements (
    judge TEXT NOT NULL, prompt_digest TEXT NOT NULL, post_id TEXT NOT NULL,
    label TEXT NOT NULL, latency_s REAL NOT NULL, cost_usd REAL NOT NULL,
    PRIMARY KEY (judge, prompt_digest, post_id)
)
"""


class JudgeCache:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, judge: str, prompt_digest: str, post_id: str) -> Judgement | None:
        row = self._db.execute(
            "SELECT label, latency_s, cost_usd FROM judgements"
            " WHERE judge=? AND prompt_digest=? AND post_id=?",
            (judge, prompt_digest, post_id),
        ).fetchone()
        if row is None:
            return None
        return Judgement(post_id, judge, prompt_digest, json.loads(row[0]), None, row[1], row[2], cached=True)

    def put(self, j: Judgement) -> None:
        if not j.ok:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO judgements VALUES (?, ?, ?, ?, ?, ?)",
            (j.judge, j.prompt_digest, j.post_id, json.dumps(j.label), j.latency_s, j.cost_usd),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
