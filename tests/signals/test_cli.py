import json
from pathlib import Path

import pytest

from feedmix.cli import main


def test_label_writes_one_line_per_post_with_every_signal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {"id": "a", "subreddit": "headphones", "title": "Sennheiser HD600 vs Beyerdynamic DT880?"},
                {"id": "b", "subreddit": "pics", "title": "", "selftext": ""},
            ]
        )
        + "\n"
    )
    out = tmp_path / "labels.jsonl"
    assert main(["signals", "label", "--in", str(posts), "--out", str(out), "--tier", "rules"]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    keys = {"intent", "sentiment", "commercial", "products", "category", "brand_safety", "model_version"}
    assert keys <= set(lines[0]) and keys <= set(lines[1])
    assert lines[0]["intent"] == "comparison" and lines[0]["commercial"]
    assert {"intent_probs", "sentiment_probs", "commercial_prob", "brand_safety_probs"} <= set(lines[0])
    assert lines[1]["gate"] == "empty" and lines[1]["intent"] == "none"
    assert "labelled 2 posts" in capsys.readouterr().err


def test_label_refuses_bad_input_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text(json.dumps({"id": "a", "title": 3}) + "\n")
    assert main(["signals", "label", "--in", str(posts), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "'title'" in capsys.readouterr().err
    assert main(["signals", "label", "--in", str(posts), "--out", "-", "--tier", "oracle"]) == 2
    assert "tier 'oracle'" in capsys.readouterr().err


def test_eval_prints_every_tier_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert main(["signals", "eval", "--tier", "rules", "--json", str(out), "--confusion"]) == 0
    text = capsys.readouterr().out
    assert "intent_macro_f1" in text and "confusion" in text and "ece" in text
    report = json.loads(out.read_text())
    rules = report["tiers"]["rules"]
    assert rules["high"]["n"] == report["posts"]["high"] < rules["all"]["n"]
    assert 0.0 <= rules["high"]["headline"]["intent_macro_f1"] <= 1.0
    assert set(rules["aims"]) == {"intent_macro_f1", "commercial_f1", "sentiment_accuracy", "entity_f1"}


def test_judge_replays_recordings_with_canaries_and_costs(tmp_path: Path, capsys) -> None:
    from feedmix.signals.devset import DevSet

    dev = DevSet.load()
    test_rows = [i for i, s in enumerate(dev.split) if s == "test"][:5]
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": dev.posts.ids[i],
                    "subreddit": dev.posts.subreddit[i],
                    "title": dev.posts.title[i],
                    "selftext": dev.posts.selftext[i],
                    "over_18": bool(dev.posts.over_18[i]),
                }
            )
            for i in test_rows
        )
        + "\n"
    )
    out, rec = tmp_path / "labels.jsonl", tmp_path / "rec.jsonl"
    assert main(["signals", "judge", "--in", str(posts), "--out", str(out), "--record", str(rec)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["answered"] == 5 and summary["canaries"]["right"] == 10 and summary["trusted"]
    labels = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in labels] == [dev.posts.ids[i] for i in test_rows]  # canaries are not output
    assert len(rec.read_text().splitlines()) == 5


def test_a_judge_failing_its_canaries_is_not_trusted(tmp_path: Path, capsys, fake_llm) -> None:
    llm, url = fake_llm
    llm.label(
        {
            "intent": "none",
            "sentiment": "neutral",
            "commercial": False,
            "products": [],
            "category": None,
            "stance": None,
            "brand_safety": "unsafe",
            "brand_safety_reason": "violence",
            "confidence": "high",
        }
    )
    posts = tmp_path / "posts.jsonl"
    posts.write_text(json.dumps({"id": "p1", "subreddit": "pics", "title": "A cat"}) + "\n")
    args = ["signals", "judge", "--in", str(posts), "--out", str(tmp_path / "o.jsonl"), "--url", url]
    args += ["--cache", str(tmp_path / "c.sqlite"), "--price-in", "1", "--price-out", "2"]
    assert main(args) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["answered"] == 1 and summary["judge"] == "http:default"
    assert summary["canaries"]["accuracy"] < 0.8 and not summary["trusted"]
    assert summary["cost_usd"] > 0


def test_the_daily_judged_sample_sets_the_judge_agreement_slo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the recorded judge answered the 150 posts drawn from 2013-08-15, the corpus' newest full day
    monkeypatch.setenv("FEEDMIX_STATE_DIR", str(tmp_path))
    posts = tmp_path / "drawn.jsonl"
    assert main(["signals", "judge-sample", "--n", "150", "--posts-out", str(posts)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["day"] == "2013-08-15" and report["posts"] == 150 and report["answered"] == 150
    assert report["trusted"] and set(report["kappa"]) == {"intent", "sentiment", "commercial", "brand_safety"}
    assert len(posts.read_text().splitlines()) == 150
    from feedmix.signals import registry

    measured = registry.describe("intent", tmp_path)["measured"]
    assert measured["judge_kappa"] == report["kappa"]["intent"]
    assert measured["judge_kappa_on"] == "daily sample 2013-08-15 (150 posts)"
    assert main(["signals", "judge-sample", "--day", "15/08/2013"]) == 2
    assert "day: '15/08/2013'" in capsys.readouterr().err
