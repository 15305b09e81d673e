from pathlib import Path

from feedmix.signals.judges.http_judge import HttpJudge, HttpJudgeConfig
from feedmix.signals.judges.judge_cache import JudgeCache
from feedmix.signals.judges.prompt import load_prompt
from feedmix.signals.posts import Posts

GOOD = {
    "intent": "review",
    "sentiment": "positive",
    "commercial": True,
    "products": ["HD600"],
    "category": "Electronics",
    "stance": "favor",
    "brand_safety": "safe",
    "brand_safety_reason": None,
    "confidence": "high",
}


def _posts(n: int = 2) -> Posts:
    return Posts.from_records(
        [
            {"id": f"p{i}", "subreddit": "headphones", "title": f"My HD600 after {i + 1} years"}
            for i in range(n)
        ]
    )


def test_asks_with_the_prompt_and_schema_and_costs_the_tokens(fake_llm, tmp_path: Path) -> None:
    llm, url = fake_llm
    llm.label(GOOD)
    config = HttpJudgeConfig(url, "qwen2.5-7b", api_key="k", price_input_per_1m=0.5, price_output_per_1m=1.5)
    judge = HttpJudge(config)
    prompt = load_prompt()
    out = judge.judge(_posts(), prompt)
    assert [j.label["intent"] for j in out if j.label] == ["review", "review"]
    assert all(j.prompt_digest == prompt.digest for j in out)
    assert abs(out[0].cost_usd - (2000 * 0.5 + 60 * 1.5) / 1e6) < 1e-12
    req = llm.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer k"
    assert req["body"]["messages"][0]["content"] == prompt.text
    assert req["body"]["response_format"]["json_schema"]["schema"]["required"][0] == "id"


def test_an_answer_outside_the_schema_is_an_error_not_a_label(fake_llm) -> None:
    llm, url = fake_llm
    llm.label(dict(GOOD, intent="rant"))
    out = HttpJudge(HttpJudgeConfig(url, "m")).judge(_posts(1), load_prompt())
    assert out[0].label is None and "intent" in (out[0].error or "")
    llm.label(dict(GOOD, products=["Not In Text"]))
    out = HttpJudge(HttpJudgeConfig(url, "m")).judge(_posts(1), load_prompt())
    assert out[0].label is None and "does not occur" in (out[0].error or "")


def test_a_slow_endpoint_times_out_and_a_dead_one_is_given_up_on(fake_llm) -> None:
    llm, url = fake_llm
    llm.label(GOOD, delay=1.0)
    judge = HttpJudge(HttpJudgeConfig(url, "m", timeout_s=0.2, max_consecutive_failures=2))
    out = judge.judge(_posts(4), load_prompt())
    assert [j.error for j in out] == ["timeout", "timeout", "endpoint down", "endpoint down"]
    assert len(llm.requests) == 2
    refused = HttpJudge(HttpJudgeConfig("http://127.0.0.1:9", "m", timeout_s=0.5)).judge(
        _posts(1), load_prompt()
    )
    assert refused[0].label is None and refused[0].error.startswith("request failed")


def test_answers_are_cached_by_prompt_digest_and_post(fake_llm, tmp_path: Path) -> None:
    llm, url = fake_llm
    llm.label(GOOD)
    cache = JudgeCache(tmp_path / "judge.sqlite")
    HttpJudge(HttpJudgeConfig(url, "m"), cache).judge(_posts(2), load_prompt())
    assert len(llm.requests) == 2
    again = HttpJudge(HttpJudgeConfig(url, "m"), JudgeCache(tmp_path / "judge.sqlite")).judge(
        _posts(3), load_prompt()
    )
    assert len(llm.requests) == 3  # only the new post was asked
    assert [j.cached for j in again] == [True, True, False]
