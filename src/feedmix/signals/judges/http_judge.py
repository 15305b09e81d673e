"""A judge behind an OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp server, or a
hosted API): configured by URL, never required. The answer is constrained by the prompt's JSON schema
(``response_format: json_schema``, which those servers enforce by guided decoding), checked again here,
cached, timed out per call, and costed from the reported token usage.

A call that times out, fails or answers outside the schema becomes an error judgement and the run goes
on; after ``max_consecutive_failures`` the endpoint is taken as down and the remaining posts are not
asked (each gets ``endpoint down``), so a dead server costs seconds, not a timeout per post.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

from feedmix.signals.judges.judge import Judgement, post_message
from feedmix.signals.judges.judge_cache import JudgeCache
from feedmix.signals.judges.prompt import Prompt
from feedmix.signals.label_schema import LabelError, check_label
from feedmix.signals.posts import Posts


@dataclass(frozen=True)
class HttpJudgeConfig:
    url: str  # the server root, e.g. http://127.0.0.1:8000 (``/v1/chat/completions`` is appended)
    model: str
    timeout_s: float = 30.0
    api_key: str | None = None
    #: dollars per million tokens; 0 for a self-hosted server whose cost is its machine time
    price_input_per_1m: float = 0.0
    price_output_per_1m: float = 0.0
    temperature: float = 0.0
    max_consecutive_failures: int = 5


class HttpJudge:
    def __init__(self, config: HttpJudgeConfig, cache: JudgeCache | None = None) -> None:
        self.config = config
        self.cache = cache
        self.name = f"http:{config.model}"
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._client = httpx.Client(
            base_url=config.url.rstrip("/"), headers=headers, timeout=config.timeout_s
        )

    def close(self) -> None:
        self._client.close()

    def judge(self, posts: Posts, prompt: Prompt) -> list[Judgement]:
        out: list[Judgement] = []
        failures = 0
        for i, pid in enumerate(posts.ids):
            cached = self.cache.get(self.name, prompt.digest, pid) if self.cache else None
            if cached is not None:
                out.append(cached)
                continue
            if failures >= self.config.max_consecutive_failures:
                out.append(Judgement(pid, self.name, prompt.digest, None, error="endpoint down"))
                continue
            j = self._ask(posts, i, prompt)
            failures = 0 if j.ok else failures + 1
            if self.cache is not None:
                self.cache.put(j)
            out.append(j)
        return out

    def _ask(self, posts: Posts, i: int, prompt: Prompt) -> Judgement:
        pid = posts.ids[i]
        body = {
            "model": self.config.model,
            "temperature": self.config.temperature,
            "messages": [
                {"role": "system", "content": prompt.text},
                {"role": "user", "content": post_message(posts, i)},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "post_label", "schema": prompt.schema, "strict": True},
            },
        }
        t0 = time.perf_counter()
        try:
            resp = self._client.post("/v1/chat/completions", json=body)
            resp.raise_for_status()
            data = resp.json()
        except httpx.TimeoutException:
            return Judgement(pid, self.name, prompt.digest, None, "timeout", time.perf_counter() - t0)
        except (httpx.HTTPError, ValueError) as e:
            return Judgement(
                pid, self.name, prompt.digest, None, f"request failed: {e}", time.perf_counter() - t0
            )
        latency = time.perf_counter() - t0
        usage = data.get("usage") or {}
        cost = (
            usage.get("prompt_tokens", 0) * self.config.price_input_per_1m
            + usage.get("completion_tokens", 0) * self.config.price_output_per_1m
        ) / 1e6
        try:
            content = data["choices"][0]["message"]["content"]
            label = check_label(dict(json.loads(content), id=pid), posts.text(i), pid)
        except (KeyError, IndexError, TypeError, json.JSONDecodeError, LabelError) as e:
            return Judgement(pid, self.name, prompt.digest, None, f"invalid answer: {e}", latency, cost)
        return Judgement(pid, self.name, prompt.digest, label, None, latency, cost)
