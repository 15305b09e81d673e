"""Pairwise judging with the order swapped: each post's two labellings are shown to the judge twice,
once in each order, and a verdict that follows the position rather than the labels (the first one wins
both times) is a flip. The flip rate is the judge's position bias on this task; a win rate is only
reported over the pairs whose verdict survived the swap (the LM-judge literature's standard practice:
Zheng et al. 2023, "Judging LLM-as-a-judge").

Verdicts are recorded like labels: ``compare-v1.<judge>.jsonl`` with the prompt digest, the item id
(``<post id>:ab`` or ``<post id>:ba``) and the verdict (``first``, ``second``, ``tie``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from feedmix.signals.judges.recorded_judge import RECORDINGS_DIR

VERDICTS = ("first", "second", "tie")


def read_verdicts(prompt_digest: str, paths: list[Path] | None = None) -> dict[str, str]:
    """Item id -> verdict, for the recordings made under ``prompt_digest``."""
    found: dict[str, str] = {}
    for path in paths if paths is not None else sorted(RECORDINGS_DIR.glob("compare-*.jsonl")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("verdict") not in VERDICTS:
                raise ValueError(f"{path} line {n}: verdict {rec.get('verdict')!r} is not one of {VERDICTS}")
            if rec["prompt_digest"] == prompt_digest:
                found[rec["item_id"]] = rec["verdict"]
    return found


def order_swap_report(verdicts: dict[str, str], post_ids: list[str], a: str, b: str) -> dict[str, Any]:
    """``a`` was shown first in the ``:ab`` items, ``b`` first in the ``:ba`` items."""
    consistent = {a: 0, b: 0, "tie": 0}
    flips = missing = 0
    for pid in post_ids:
        ab, ba = verdicts.get(f"{pid}:ab"), verdicts.get(f"{pid}:ba")
        if ab is None or ba is None:
            missing += 1
            continue
        winner_ab = {"first": a, "second": b, "tie": "tie"}[ab]
        winner_ba = {"first": b, "second": a, "tie": "tie"}[ba]
        if winner_ab == winner_ba:
            consistent[winner_ab] += 1
        else:
            flips += 1
    judged = len(post_ids) - missing
    kept = judged - flips
    return {
        "pairs": judged,
        "missing": missing,
        "flips": flips,
        "flip_rate": round(flips / judged, 3) if judged else None,
        "consistent": consistent,
        f"{a}_win_rate": round(consistent[a] / kept, 3) if kept else None,
        f"{b}_win_rate": round(consistent[b] / kept, 3) if kept else None,
    }
