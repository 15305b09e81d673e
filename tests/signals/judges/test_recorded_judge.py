import json
from pathlib import Path

from feedmix.signals.devset import DevSet
from feedmix.signals.judges.judge import Judgement
from feedmix.signals.judges.prompt import Prompt, load_prompt
from feedmix.signals.judges.recorded_judge import RecordedJudge, record


def test_replays_the_shipped_recordings_for_the_dev_set() -> None:
    judge = RecordedJudge()
    assert len(judge) >= 2000
    dev = DevSet.load()
    out = judge.judge(dev.posts, load_prompt())
    assert all(j.ok for j in out), [j.error for j in out if not j.ok][:3]
    assert all(j.cached for j in out)


def test_another_prompt_digest_is_not_answered_from_old_recordings() -> None:
    dev = DevSet.load()
    edited = load_prompt()
    other = Prompt(edited.name, edited.text + "\nBe brief.", edited.schema_text)
    assert other.digest != edited.digest
    out = RecordedJudge().judge(dev.posts.take(range(3)), other)
    assert [j.error for j in out] == ["not recorded"] * 3


def test_record_then_replay_round_trip(tmp_path: Path) -> None:
    dev = DevSet.load()
    prompt = load_prompt()
    first = RecordedJudge().judge(dev.posts.take(range(5)), prompt)
    path = tmp_path / "rec.jsonl"
    failed = Judgement("x", "j", prompt.digest, None, error="timeout")
    assert record([*first, failed], path) == 5
    again = RecordedJudge([path]).judge(dev.posts.take(range(5)), prompt)
    assert [j.label for j in again] == [j.label for j in first]
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert {x["prompt_digest"] for x in lines} == {prompt.digest}
