"""Replays stored judgements: the judge CI and offline runs use. A recording is JSON lines of
``{"prompt_digest", "post_id", "judge", "label"}``; a post asked under another prompt digest, or never
recorded, gets an error judgement (``not recorded``), so a changed prompt cannot silently reuse old
answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from feedmix.signals.judges.judge import Judgement
from feedmix.signals.judges.prompt import Prompt
from feedmix.signals.label_schema import LabelError, check_label
from feedmix.signals.posts import Posts

RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "labelled" / "judgements"


class RecordedJudge:
    def __init__(self, paths: list[Path] | None = None, name: str | None = None) -> None:
        self.paths = paths if paths is not None else sorted(RECORDINGS_DIR.glob("label-*.jsonl"))
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}
        judges: set[str] = set()
        for path in self.paths:
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                for field in ("prompt_digest", "post_id", "judge", "label"):
                    if field not in rec:
                        raise ValueError(f"{path} line {n}: recording lacks {field!r}")
                self._by_key[(rec["prompt_digest"], rec["post_id"])] = rec
                judges.add(rec["judge"])
        self.name = name or ("recorded:" + "+".join(sorted(judges)) if judges else "recorded")

    def __len__(self) -> int:
        return len(self._by_key)

    def judge(self, posts: Posts, prompt: Prompt) -> list[Judgement]:
        out = []
        for i, pid in enumerate(posts.ids):
            rec = self._by_key.get((prompt.digest, pid))
            if rec is None:
                out.append(Judgement(pid, self.name, prompt.digest, None, error="not recorded"))
                continue
            try:
                label = check_label(dict(rec["label"], id=pid), posts.text(i), pid)
            except LabelError as e:
                out.append(Judgement(pid, rec["judge"], prompt.digest, None, error=f"invalid: {e}"))
                continue
            out.append(Judgement(pid, rec["judge"], prompt.digest, label, cached=True))
        return out


def record(judgements: list[Judgement], path: Path) -> int:
    """Append the successful judgements to a recording (what a live judge's run leaves for replay)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "a", encoding="utf-8") as f:
        for j in judgements:
            if j.ok:
                row = {
                    "prompt_digest": j.prompt_digest,
                    "post_id": j.post_id,
                    "judge": j.judge,
                    "label": j.label,
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    return n
