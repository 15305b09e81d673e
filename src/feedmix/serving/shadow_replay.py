"""A shadow on logged traffic: the served-feature log's requests rerun under its candidate and noise configs.

Live shadowing needs live traffic; replay needs only the logs, so a candidate can be judged before it
is deployed anywhere, on as many requests as the log holds (``[features] log_sample_rate`` of them).
The production arm is what the log says was served (items, scores, sources, head predictions,
features; the log has no ads, latency or CPU of the served request, so those metrics are missing in a
replay's report). The candidate and noise arms are rerun now, for the same user: the query hydrators
run again on today's state, except that the logged page's own posts are taken out of what the user
has seen (they were unseen when that page was served; left in, the seen filter would remove exactly
the posts being compared). Records go to ``<state_dir>/shadow/<name>/replay.jsonl`` for
``feedmix shadow report <name> --records ...``; nothing is written anywhere else.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from feedmix.core.components import ParamHydrator
from feedmix.core.pipeline import Pipeline
from feedmix.core.query import Query
from feedmix.events.post_ids import post_ids_to_int
from feedmix.features.offline.parquet_io import list_parquet_files
from feedmix.serving.runtime import Runtime
from feedmix.serving.shadow_runner import DEFAULT_FEATURES
from feedmix.shadow.record import CANDIDATE, NOISE, PRODUCTION, ArmOutput, RecordWriter, ShadowRecord

log = logging.getLogger(__name__)
#: the query features that hold what the user has seen (the seen-posts filters read them)
SEEN_FEATURES = ("user.seen", "session.served")


def logged_requests(log_dir: str | Path, pipeline: str) -> Iterator[dict[str, Any]]:
    """The served-feature log's requests of ``pipeline``, oldest first, each as columns over its items
    in page order."""
    import pyarrow.parquet as pq

    files = list_parquet_files(Path(log_dir))
    if not files:
        return
    table = pq.ParquetDataset(files).read()
    table = table.filter(pc.equal(table.column("pipeline"), pipeline))
    if table.num_rows == 0:
        return
    table = table.sort_by([("ts", "ascending"), ("request_id", "ascending"), ("position", "ascending")])
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    ids = cols["request_id"]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        yield {name: values[a:b] for name, values in cols.items()}


def production_arm(
    req: dict[str, Any], pipeline: Pipeline, runtime: Runtime, features: tuple[str, ...]
) -> ArmOutput:
    c = runtime.corpus
    post_ids = [str(p) for p in req["post_id"]]
    rows = c.rows_of(post_ids_to_int(post_ids))
    names = [s.identifier for s in pipeline.sources]
    sources = (
        tuple(names[int(s)] if 0 <= int(s) < len(names) else "?" for s in req["source"])
        if "source" in req
        else tuple("?" for _ in post_ids)
    )
    logged_f = sorted(k for k in req if k.startswith("f."))
    wanted = list(features) or logged_f[:DEFAULT_FEATURES]
    return ArmOutput(
        request_id=str(req["request_id"][0]),
        arm=PRODUCTION,
        item_ids=tuple(post_ids),
        scores=tuple(float(x) for x in req["score"]),
        sources=sources,
        communities=tuple(c.communities[int(x)] for x in c.community[rows].tolist()),
        nsfw=tuple(bool(x) for x in c.over_18[rows].tolist()),
        predictions={k[2:]: tuple(float(x) for x in req[k]) for k in req if k.startswith("p.")},
        features={k: tuple(float(x) for x in req[k]) for k in wanted if k in req},
        page_size=len(post_ids),
        latency_ms=float("nan"),
        cpu_ms=float("nan"),
    )


def _rehydrated(pipeline: Pipeline, query: Query, unseen: np.ndarray[Any, Any]) -> Query:
    """The query hydrators' features for ``query`` now, with ``unseen`` posts taken out of what the
    user has seen (a hydrator that fails is skipped, as the executor would skip it)."""
    for comp in pipeline.query_hydrators:
        if isinstance(comp, ParamHydrator) or not comp.enabled(query):
            continue
        try:
            query = query.with_features(comp.hydrate(query))
        except Exception:
            log.warning("replay: query hydrator %s failed", comp.identifier, exc_info=True)
    patched = {}
    for name in SEEN_FEATURES:
        seen = query.feature(name)
        if seen is not None and len(seen):
            patched[name] = np.asarray(seen)[~np.isin(np.asarray(seen), unseen)]
    return query.with_features(patched) if patched else query


def replay(runtime: Runtime, name: str, limit: int | None = None) -> tuple[Path, int]:
    """Rerun up to ``limit`` logged requests of shadow ``name``; returns the records' path and count."""
    runner = runtime.shadows
    if runner is None or name not in runner.names:
        known = runner.names if runner is not None else []
        raise ValueError(f"no shadow {name!r} in the config (configured: {known})")
    shadow = runner.shadow(name)
    spec = shadow.spec
    production = runtime.pipelines[spec.pipeline]
    path = Path(runtime.config.state_dir) / "shadow" / name / "replay.jsonl"
    done = 0
    with RecordWriter(path) as writer:
        for req in logged_requests(runtime.config.feature_log_dir, spec.pipeline):
            if limit is not None and done >= limit:
                break
            request_id, user_id = str(req["request_id"][0]), str(req["user_id"][0])
            arms = {PRODUCTION: production_arm(req, production, runtime, spec.features)}
            unseen = post_ids_to_int([str(p) for p in req["post_id"]])
            runs = [(CANDIDATE, shadow.candidate, "~c", spec.params)]
            if shadow.noise is not None:
                runs.append((NOISE, shadow.noise, "~n", {}))
            for arm, pipeline, salt, changes in runs:
                base = runtime.feeds.query(pipeline, user_id, limit=len(req["post_id"]), overrides=changes)
                query = _rehydrated(pipeline, dataclasses.replace(base, request_id=request_id + salt), unseen)
                result = runner.executor.run(pipeline, query, hydrated=True)
                arms[arm] = runner.capture(result, arm, request_id, spec.features)
            writer.write(ShadowRecord(request_id, user_id, spec.pipeline, float(req["ts"][0]), arms))
            done += 1
    return path, done
