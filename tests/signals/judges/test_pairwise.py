import json
from pathlib import Path

import pytest

from feedmix.signals.devset import LABELLED_DIR
from feedmix.signals.judges.pairwise import order_swap_report, read_verdicts
from feedmix.signals.judges.prompt import load_prompt


def test_flips_are_verdicts_that_follow_the_position() -> None:
    verdicts = {
        "a:ab": "first", "a:ba": "second",  # x wins both ways: consistent
        "b:ab": "first", "b:ba": "first",  # the first shown wins both times: a flip
        "c:ab": "second", "c:ba": "first",  # y wins both ways
        "d:ab": "tie", "d:ba": "tie",
    }  # fmt: skip
    r = order_swap_report(verdicts, ["a", "b", "c", "d", "e"], "x", "y")
    assert r["pairs"] == 4 and r["missing"] == 1 and r["flips"] == 1 and r["flip_rate"] == 0.25
    assert r["consistent"] == {"x": 1, "y": 1, "tie": 1}
    assert r["x_win_rate"] == round(1 / 3, 3)


def test_the_recorded_rules_vs_teacher_comparison() -> None:
    pairs = [json.loads(x) for x in (LABELLED_DIR / "compare-v1-pairs.jsonl").read_text().splitlines()]
    verdicts = read_verdicts(load_prompt("compare-v1").digest)
    r = order_swap_report(verdicts, [p["id"] for p in pairs], "rules", "teacher")
    assert r["pairs"] == len(pairs) > 50 and r["missing"] == 0
    assert 0 <= r["flip_rate"] < 0.5


def test_a_malformed_verdict_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "compare-x.jsonl"
    bad.write_text(
        json.dumps({"prompt_digest": "d", "item_id": "a:ab", "judge": "j", "verdict": "both"}) + "\n"
    )
    with pytest.raises(ValueError, match="verdict"):
        read_verdicts("d", [bad])
