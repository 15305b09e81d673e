from pathlib import Path

import numpy as np
import pytest

from feedmix.signals import judged_sample, registry
from feedmix.signals.devset import DevSet
from feedmix.signals.judge_labeler import JudgeLabeler
from feedmix.signals.judges.recorded_judge import RecordedJudge
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler

DAY = judged_sample.DAY


def test_pick_draws_the_same_rows_of_that_day_every_time() -> None:
    start = judged_sample.day_start("2014-03-02")
    day = start + np.arange(400) * 100.0
    created = np.concatenate([np.full(50, start - 10), day, np.full(50, start + DAY)])
    rows = judged_sample.pick(created, "2014-03-02", 120)
    assert len(rows) == 120 and np.all(np.diff(rows) > 0)
    assert np.all((created[rows] >= start) & (created[rows] < start + DAY))
    assert np.array_equal(rows, judged_sample.pick(created, "2014-03-02", 120))
    # another day, another draw (seeded by the day)
    assert not np.array_equal(judged_sample.pick(created + DAY, "2014-03-03", 120), rows)
    # fewer posts than asked: all of them
    assert len(judged_sample.pick(created, "2014-03-02", 1000)) == 400
    assert judged_sample.newest_day(created, 1) == "2014-03-03"
    assert judged_sample.newest_day(created, 100) == "2014-03-02"  # the last day has only 50


def test_a_bad_day_names_the_field() -> None:
    with pytest.raises(ValueError, match="day: '2014-13-40'"):
        judged_sample.pick(np.zeros(3), "2014-13-40", 5)


def _posts_with_strangers(dev: DevSet, n: int, strangers: int) -> Posts:
    known = dev.posts.take(range(n))
    other = Posts(
        [f"zz{i}" for i in range(strangers)],
        ["buildapc"] * strangers,
        ["Which GPU should I buy?"] * strangers,
        [""] * strangers,
        np.zeros(strangers, dtype=bool),
    )
    return Posts.concat(known, other)


def test_agreement_leaves_out_what_the_judge_did_not_answer() -> None:
    dev = DevSet.load()
    posts = _posts_with_strangers(dev, 60, 5)
    judged = JudgeLabeler(RecordedJudge()).label(posts)
    rules = RulesLabeler().label(posts)
    out = judged_sample.agreement(rules, judged)
    assert out["posts"] == 65 and out["answered"] == 60 and out["compared"] == 60 and out["trusted"]
    assert out["kappa"] == judged_sample.kappas(rules, judged, np.arange(60))
    assert all(-1.0 <= k <= 1.0 for k in out["kappa"].values())
    # a producer agrees with itself perfectly
    assert judged_sample.agreement(judged, judged)["kappa"]["intent"] == 1.0
    # too few answers: reported, not trusted
    small = _posts_with_strangers(dev, judged_sample.MIN_ANSWERED - 1, 3)
    out = judged_sample.agreement(RulesLabeler().label(small), JudgeLabeler(RecordedJudge()).label(small))
    assert out["compared"] == judged_sample.MIN_ANSWERED - 1 and not out["trusted"]


def test_the_registry_holds_the_slo_to_a_trusted_daily_sample(tmp_path: Path) -> None:
    registry.save_report(
        tmp_path,
        "eval-test",
        {
            "dev_set_digest": "d",
            "tiers": {"student": {"high": {"intent": {"macro_f1": 0.8}}, "judge_kappa": {"intent": 0.5}}},
        },
    )
    assert registry.describe("intent", tmp_path)["measured"]["judge_kappa_on"] == "dev set test part"
    daily = {"day": "2014-03-02", "trusted": False, "compared": 3, "kappa": {"intent": 0.9}}
    registry.save_report(tmp_path, "judge-daily-student", daily)
    assert registry.describe("intent", tmp_path)["measured"]["judge_kappa"] == 0.5
    registry.save_report(tmp_path, "judge-daily-student", dict(daily, trusted=True, compared=140))
    intent = registry.describe("intent", tmp_path)
    assert intent["measured"]["judge_kappa"] == 0.9
    assert intent["measured"]["judge_kappa_on"] == "daily sample 2014-03-02 (140 posts)"
    assert intent["slo_status"]["judge_kappa"].startswith("ok")
