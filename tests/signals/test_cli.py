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
