"""Shadows: a candidate pipeline config run on a sample of live requests, off the critical path, silent.

A shadow (``[shadows.<name>]`` in the config) names a product pipeline and what it changes: params,
and optionally its source list. For each sampled request (a hash of the request id, so a request is
in or out the same way every time) the served result is queued once the response is built; a worker
thread then reruns the request from its sources on, with the served request's hydrated features
(what the user had seen and joined *then*, before the page was recorded), as

* the **candidate**: the shadow's config, and
* the **noise** arm: production's own config again, with another random draw (Diffy's primary
  against primary: every metric of the report stands beside its own noise);

and writes one record per request (the page, scores, predictions, a few features, the ad winners and
prices, latency and CPU of each arm) to ``<state_dir>/shadow/<name>/records.jsonl``, which
``feedmix shadow report`` and ``feedmix shadow gate`` read.

Nothing a shadow does reaches a user or the shared state: its pipelines have no side effects (no
session record, no exposures, no served-feature log, no metrics of the served mix), its ads blender
decides through a dry-run view of the ad server (real auctions, no budget reserved; frequency caps
only move on tracked events, and a shadow's ads are never shown), and it runs on its own executor, so
its work is attributed to its own pipeline names (``home.shadow.<name>``) in the metrics and in
``feedmix cost``. The queue is bounded: when the worker falls behind, requests are dropped and
counted, never waited for. A shadow that raises or runs late changes nothing that was served.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter

from feedmix.components.blenders.ads_blender import KIND
from feedmix.core.executor import PipelineExecutor, PipelineResult
from feedmix.core.pipeline import ComponentSpec, ConfigError, Pipeline
from feedmix.core.query import Deadline
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.experiments.hashing import SeededHash
from feedmix.retrieval.rows import ROW
from feedmix.shadow.record import (
    CANDIDATE,
    NOISE,
    PRODUCTION,
    AdWinner,
    ArmOutput,
    RecordWriter,
    ShadowRecord,
)

log = logging.getLogger(__name__)

SHADOW_REQUESTS = Counter(
    "feedmix_shadow_requests_total", "Sampled requests by shadow and outcome", ["shadow", "outcome"]
)
#: feature columns a record keeps per item when the shadow does not name its own
DEFAULT_FEATURES = 8
_KEYS = {
    "pipeline",
    "sample_rate",
    "params",
    "sources",
    "model_version",
    "noise",
    "queue_size",
    "features",
    "gates",
    "seed",
}


@dataclass(frozen=True)
class ShadowSpec:
    name: str
    pipeline: str
    sample_rate: float = 0.1
    params: Mapping[str, Any] = field(default_factory=dict)
    #: a different source list (component slots as in products/), or None for production's
    sources: Sequence[Any] | None = None
    #: a registered ranker version for the candidate instead of the promoted one (None: the promoted)
    model_version: str | None = None
    noise: bool = True
    queue_size: int = 64
    #: feature columns (``f.*``) to record per item; empty: the first ``DEFAULT_FEATURES`` by name
    features: tuple[str, ...] = ()
    #: bounds per report metric for ``feedmix shadow gate`` (see :mod:`feedmix.shadow.gates`)
    gates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seed: str = "shadow"

    @classmethod
    def from_config(cls, name: str, raw: Mapping[str, Any]) -> ShadowSpec:
        unknown = sorted(set(raw) - _KEYS)
        if unknown:
            raise ConfigError(f"shadows.{name}: unknown keys {unknown} (known: {sorted(_KEYS)})")
        if "pipeline" not in raw:
            raise ConfigError(f"shadows.{name}.pipeline: name the product pipeline it shadows")
        rate = float(raw.get("sample_rate", 0.1))
        if not 0 < rate <= 1:
            raise ConfigError(f"shadows.{name}.sample_rate: {rate} is outside (0, 1]")
        size = int(raw.get("queue_size", 64))
        if not 1 <= size <= 100_000:
            raise ConfigError(f"shadows.{name}.queue_size: {size} is outside 1..100000")
        return cls(
            name=name,
            pipeline=str(raw["pipeline"]),
            sample_rate=rate,
            params=dict(raw.get("params", {})),
            sources=list(raw["sources"]) if "sources" in raw else None,
            model_version=str(raw["model_version"]) if raw.get("model_version") else None,
            noise=bool(raw.get("noise", True)),
            queue_size=size,
            features=tuple(raw.get("features", ())),
            gates={k: dict(v) for k, v in dict(raw.get("gates", {})).items()},
            seed=str(raw.get("seed", "shadow")),
        )


@dataclass
class _Shadow:
    spec: ShadowSpec
    candidate: Pipeline
    noise: Pipeline | None
    sampled: SeededHash
    writer: RecordWriter


def shadow_config(raw: Mapping[str, Any], spec: ShadowSpec) -> dict[str, Any]:
    """A product's pipeline config as its shadow runs it: no side effects, the shadow's sources, params
    (the product's param defaults for components the shadow left out go with them)."""
    out = dict(raw)
    removed = {ComponentSpec.parse(c).identifier for c in raw.get("side_effects", ())}
    out["side_effects"] = []
    if spec.sources is not None:
        removed |= {ComponentSpec.parse(c).identifier for c in raw.get("sources", ())}
        removed -= {ComponentSpec.parse(c).identifier for c in spec.sources}
        out["sources"] = list(spec.sources)
    kept = {k: v for k, v in raw.get("params", {}).items() if k.split(".", 1)[0] not in removed}
    out["params"] = {**kept, **spec.params}
    return out


class ShadowRunner:
    def __init__(
        self,
        specs: Sequence[ShadowSpec],
        build: Callable[[str, dict[str, Any], ShadowSpec | None], Pipeline],
        product_configs: Mapping[str, Mapping[str, Any]],
        record_dir: str | Path,
        corpus: RedditCorpus,
        workers: int = 2,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``build(name, config, spec)`` makes a pipeline over the process's dependencies with the ads
        blender's dry-run view (the runtime passes it): the candidate's with its ``spec`` (a pinned model
        version), the noise arm's with None; ``product_configs`` are the products' configs by name."""
        self.corpus, self.clock = corpus, clock
        self._shadows: dict[str, list[_Shadow]] = {}
        self._queue: queue.Queue[tuple[_Shadow, PipelineResult] | None] = queue.Queue(
            maxsize=max((s.queue_size for s in specs), default=1)
        )
        for spec in specs:
            if spec.pipeline not in product_configs:
                raise ConfigError(f"shadows.{spec.name}.pipeline: unknown pipeline {spec.pipeline!r}")
            raw = dict(product_configs[spec.pipeline])
            name = f"{spec.pipeline}.shadow.{spec.name}"
            candidate = build(name, shadow_config(raw, spec), spec)
            production = dataclasses.replace(spec, params={}, sources=None, model_version=None)
            noise = build(f"{name}.noise", shadow_config(raw, production), None)
            writer = RecordWriter(Path(record_dir) / spec.name / "records.jsonl")
            shadow = _Shadow(
                spec, candidate, noise if spec.noise else None, SeededHash(f"shadow-{spec.seed}"), writer
            )
            self._shadows.setdefault(spec.pipeline, []).append(shadow)
        # its own pool: a shadow's components never queue behind production's
        self.executor = PipelineExecutor(workers=workers)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="feedmix-shadow", daemon=True)
        self._thread.start()
        self.processed = 0

    @property
    def names(self) -> list[str]:
        return [s.spec.name for group in self._shadows.values() for s in group]

    def shadow(self, name: str) -> _Shadow:
        """The shadow called ``name`` (its spec and pipelines), for a replay of logged requests."""
        for group in self._shadows.values():
            for s in group:
                if s.spec.name == name:
                    return s
        raise KeyError(name)

    def submit(self, pipeline: str, result: PipelineResult) -> None:
        """Queue a served result for the pipeline's shadows that sample it; never blocks."""
        for shadow in self._shadows.get(pipeline, ()):
            if shadow.sampled(result.query.request_id) >= shadow.spec.sample_rate:
                continue
            try:
                self._queue.put_nowait((shadow, result))
            except queue.Full:
                SHADOW_REQUESTS.labels(shadow.spec.name, "dropped").inc()

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued request is recorded (tests, shutdown); True if it emptied in time."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._queue.unfinished_tasks == 0

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=30)
        self.executor.shutdown(wait_for_side_effects=False)
        for group in self._shadows.values():
            for s in group:
                s.writer.close()

    # -- the worker ------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                shadow, result = item
                self._run(shadow, result)
            except Exception:
                log.exception("shadow run failed")
            finally:
                self._queue.task_done()

    def _run(self, shadow: _Shadow, served: PipelineResult) -> None:
        spec = shadow.spec
        arms = {PRODUCTION: self.capture(served, PRODUCTION, served.query.request_id, spec.features)}
        runs: list[tuple[str, Pipeline, str, Mapping[str, Any]]] = [
            (CANDIDATE, shadow.candidate, "~c", spec.params)
        ]
        if shadow.noise is not None:
            runs.append((NOISE, shadow.noise, "~n", {}))
        outcome = "ok"
        for arm, pipeline, salt, changes in runs:
            try:
                query = self._query(served, pipeline, salt, changes)
                result = self.executor.run(pipeline, query, hydrated=True)
                arms[arm] = self.capture(result, arm, served.query.request_id, spec.features)
            except Exception as exc:  # counted and recorded; production already served
                outcome = "error"
                arms[arm] = ArmOutput(
                    request_id=served.query.request_id,
                    arm=arm,
                    item_ids=(),
                    scores=(),
                    sources=(),
                    communities=(),
                    nsfw=(),
                    error=f"{type(exc).__name__}: {exc}",
                )
        q = served.query
        shadow.writer.write(ShadowRecord(q.request_id, q.user_id, q.surface, self.clock(), arms))
        SHADOW_REQUESTS.labels(spec.name, outcome).inc()
        self.processed += 1

    @staticmethod
    def _query(served: PipelineResult, pipeline: Pipeline, salt: str, changes: Mapping[str, Any]) -> Any:
        """The served query with this arm's params (the request's and its experiments' explicit choices,
        then the shadow's own changes: what is under test wins) and its own random draw; features as
        hydrated, annotations fresh."""
        q = served.query
        explicit = {k: q.params[k] for k in q.params.explicit if k in pipeline.param_registry}
        params = pipeline.params({**explicit, **changes})
        return dataclasses.replace(
            q,
            params=params,
            request_id=q.request_id + salt,
            deadline=Deadline.from_ms(float(params["pipeline.deadline_ms"])),
            annotations={},
        )

    def capture(
        self, result: PipelineResult, arm: str, request_id: str, features: Sequence[str]
    ) -> ArmOutput:
        """An arm's page as a record: organic items with their columns, and the ad winners."""
        c = self.corpus
        page = result.page
        rows = page.column(ROW) if len(page) and page.has(ROW) else np.zeros(0, dtype=np.int64)
        names = page.column_names if len(page) else []
        wanted = list(features) or sorted(n for n in names if n.startswith("f."))[:DEFAULT_FEATURES]
        ads: list[AdWinner] = []
        batch = result.batch
        if len(batch) and batch.has(KIND):
            kinds = batch.column(KIND)
            for pos in np.flatnonzero(kinds == "ad").tolist():
                ads.append(
                    AdWinner(
                        ad_group_id=str(batch.column("ad.ad_group_id")[pos]),
                        campaign_id=str(batch.column("ad.campaign_id")[pos]),
                        slot=int(pos),
                        price_micros=int(batch.column("ad.price_micros")[pos]),
                    )
                )
        trace = result.trace
        return ArmOutput(
            request_id=request_id,
            arm=arm,
            item_ids=tuple(c.id_str[int(r)] for r in rows.tolist()),
            scores=tuple(float(x) for x in page.column("score").tolist()) if len(page) else (),
            sources=tuple(result.source_names[int(s)] for s in page.column("source").tolist())
            if len(page)
            else (),
            communities=tuple(c.communities[int(x)] for x in c.community[rows].tolist()),
            nsfw=tuple(bool(x) for x in c.over_18[rows].tolist()),
            predictions={
                n[2:]: tuple(map(float, page.column(n).tolist())) for n in names if n.startswith("p.")
            },
            features={n: tuple(map(float, page.column(n).tolist())) for n in wanted if n in names},
            ads=tuple(ads),
            page_size=len(batch),
            latency_ms=trace.wall_ms,
            cpu_ms=trace.cpu_ms,
            degraded=result.degraded,
        )
