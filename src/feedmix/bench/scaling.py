"""``feedmix bench scaling``: how latency and CPU per request grow with the corpus, the candidates per
request and the number of serving processes.

Three sweeps, each a question an operator asks before buying machines:

* **corpus** (100k, 428,667 = the real corpus, 1M, 2M, 5M posts): does a request get slower as the
  corpus grows, and what does a serving process then need to start (build time, memory)? Sizes other
  than the real one come from :mod:`feedmix.bench.scaled_corpus`. Candidates per request stay at the
  scenario's budget, so only the corpus changes.
* **candidates** (250 ... 4,000 per request, on the real corpus): the per-request work that the
  columnar stages scale with. The source budgets come from
  :func:`feedmix.bench.reference.candidate_budget_params` (every source scaled alike, so the mix is
  the same at every size) and are passed as per-request param overrides, the same path as
  ``p.<name>=`` on the feed URL, so one runtime serves every point.
* **processes** (1, 2, 4 ``feedmix serve`` processes on one machine, over HTTP): what a second or
  fourth replica buys on a machine with few cores. One open-loop generator spreads its schedule
  round-robin over the servers, at a fixed total rate and at a rate proportional to the number of
  processes; every server's ``/metrics`` is scraped around the window and their CPU is summed.

The first two run in-process (``rt.feeds.feed``, the HTTP handler's code minus FastAPI and the
socket), so their numbers are the serving path's own: wall time per request with ``perf_counter``
and *process* CPU (``time.process_time``: the executor runs pooled components and side effects on
other threads, which ``thread_time`` would miss) over the measured requests, sequentially, after a
warm-up. A recording tracer gets every request's trace (no ``debug=true``, which would add the
feature values to the response and cost time of its own), so each point also reports the candidates
after the merge and every stage's and component's mean time: that is how a curve is explained.

Every corpus point runs in a fresh process (``spawn``) by default, so its peak RSS and build time
are its own and nothing one point built leaks into the next. Builds are cached under the state
directory (``<state>/corpus-<posts>/index``: the content index of that corpus, checked by its
fingerprint), so a rerun measures without rebuilding.

The workload is the reference scenario's (:mod:`feedmix.bench.reference`: trained ranker, collab
index, 2,000 ad groups, 10,000 users) when ``--reference`` names its state directory (prepared on
first use), or a plain configuration with ``--posts`` otherwise (what the tests use on the demo slice).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import math
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm import tqdm

from feedmix.bench.ports import free_port
from feedmix.bench.scaling_defaults import (
    DEFAULT_CANDIDATES,
    DEFAULT_CORPUS_SIZES,
    DEFAULT_PROCESSES,
    DEFAULT_STATE,
    SWEEPS,
)

if TYPE_CHECKING:
    from feedmix.config import FeedmixConfig
    from feedmix.core.trace import RequestTrace
    from feedmix.corpus.reddit_corpus import RedditCorpus
    from feedmix.serving.runtime import Runtime

R = TypeVar("R")

#: the content index of a scaled corpus is built with this many threads (faiss k-means, BLAS of the SVD)
BUILD_THREADS = 2
#: the size of one page, as the product serves it
PAGE = 25
_BUILD_FILE = "build.json"


# -- the workload -----------------------------------------------------------------------------


@dataclass
class ScalingSetup:
    """What every point serves, apart from the swept quantity.

    ``config`` is the template each point's config is derived from (stores, ranker registry, ads,
    population, the scenario's candidate budget); ``users`` are the request users, cycled in order.
    """

    config: FeedmixConfig
    users: list[str]
    #: candidates per request outside the candidates sweep
    candidates: int = 1000
    state_dir: str = DEFAULT_STATE
    #: the reference scenario's preparation summary (None for a plain setup)
    reference: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "workload": "reference" if self.reference is not None else "plain",
            "posts": c.posts,
            "users": c.users,
            "request_users": len(self.users),
            "candidates": self.candidates,
            "ads_enabled": c.ads_enabled,
            "ranking_registry_dir": c.ranking_registry_dir,
            "state_dir": self.state_dir,
            "reference": self.reference,
        }


def reference_setup(
    reference_state: str | Path, state_dir: str = DEFAULT_STATE, progress: bool = True
) -> ScalingSetup:
    """The reference scenario, prepared in ``reference_state`` if it is not yet (slow, once)."""
    from feedmix.bench.reference import ReferenceScenario, prepare_reference, reference_config

    scenario = ReferenceScenario()
    summary = prepare_reference(reference_state, scenario, progress=progress)
    cfg = reference_config(reference_state, scenario)
    return ScalingSetup(cfg, scenario.request_user_ids(), scenario.candidates, state_dir, summary)


def plain_setup(
    posts: str,
    state_dir: str = DEFAULT_STATE,
    users: int = 2000,
    request_users: int = 500,
    candidates: int = 1000,
) -> ScalingSetup:
    """No trained ranker, no prepared campaigns: the heuristic ranking of a fresh install."""
    from feedmix.bench.reference import candidate_budget_params
    from feedmix.config import FeedmixConfig

    state = Path(state_dir).resolve() / "plain"
    cfg = FeedmixConfig(
        posts=posts,
        users=users,
        state_dir=str(state),
        event_log="memory://",
        shed_target_ms=0.0,
        feature_replay_window_s=0.0,
        index_watch_interval_s=0.0,
        ranking_watch_interval_s=0.0,
        pipeline_params={"home": candidate_budget_params(candidates)},
    )
    ids = [f"u{i:04d}" for i in range(1, min(users, request_users) + 1)]
    return ScalingSetup(cfg, ids, candidates, state_dir)


def point_config(setup: ScalingSetup, point_dir: Path, **overrides: Any) -> FeedmixConfig:
    """The template with this point's own index and feature-log directories (nothing is shared
    that a point writes) and no watchers or load shedding, which would change the work mid-run.

    The collaborative index of the template (trained on the scenario's events) is copied into the
    point's index directory, so every corpus serves it: its posts are the real ones, which every
    scaled corpus above the real size keeps (a subsample drops the ones it lacks, as a server would).
    """
    base = setup.config
    index_dir = point_dir / "index"
    collab = Path(base.index_dir) / "collab"
    if collab.is_dir() and not (index_dir / "collab").exists():
        index_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(collab, index_dir / "collab", symlinks=True)
    # the ad log and the ad token secret live under state_dir: the point's own, with the template's
    # pCTR model (the stores, registry and event log stay the template's: they were resolved already)
    _own_state(base, point_dir)
    return dataclasses.replace(
        base,
        state_dir=str(point_dir.resolve()),
        index_dir=str(index_dir.resolve()),
        feature_log_dir=str((point_dir / "feature_log").resolve()),
        feature_offline_dir=str((point_dir / "offline_features").resolve()),
        index_watch_interval_s=0.0,
        ranking_watch_interval_s=0.0,
        shed_target_ms=0.0,
        **overrides,
    )


def _own_state(template: FeedmixConfig, directory: Path) -> None:
    """Make ``directory`` a state dir that serves like the template's (its pCTR model, if any)."""
    from feedmix.ads.ads_runtime import PCTR_FILE

    directory.mkdir(parents=True, exist_ok=True)
    pctr = Path(template.state_dir) / PCTR_FILE
    if pctr.is_file() and not (directory / PCTR_FILE).exists():
        shutil.copy2(pctr, directory / PCTR_FILE)


# -- corpora and builds -------------------------------------------------------------------------

_BASE: dict[str, RedditCorpus] = {}


def base_corpus(setup: ScalingSetup) -> RedditCorpus:
    """The template's corpus, loaded once per process."""
    from feedmix.corpus.reddit_corpus import RedditCorpus

    key = str(setup.config.posts_path())
    if key not in _BASE:
        _BASE[key] = RedditCorpus.load(setup.config.posts_path(), now=setup.config.now)
    return _BASE[key]


def point_dir(setup: ScalingSetup, posts: int) -> Path:
    return Path(setup.state_dir) / f"corpus-{posts}"


def ensure_content_index(corpus: RedditCorpus, index_dir: Path, kind: str, progress: bool) -> dict[str, Any]:
    """Build the content index of ``corpus`` unless one of it is published there; what it cost.

    Built here, with :data:`BUILD_THREADS` threads, rather than by the runtime at startup (one
    thread): at millions of posts the k-means and the SVD are most of a start, and the cost is
    recorded in ``build.json`` beside the index so a cached rerun still reports it.
    """
    from feedmix.retrieval.ann.manifest import ManifestError, read_manifest
    from feedmix.retrieval.ann.registry import resolve_kind
    from feedmix.retrieval.content_index import build_content_index, corpus_fingerprint

    record = index_dir.parent / _BUILD_FILE
    fingerprint = corpus_fingerprint(corpus)
    try:
        cached = read_manifest(index_dir / "content").raw.get("corpus_fingerprint") == fingerprint
    except ManifestError:
        cached = False
    if cached and record.is_file():
        info: dict[str, Any] = json.loads(record.read_text())
        return {**info, "cached": True}
    t0 = time.perf_counter()
    rss0 = peak_rss_mib()
    manifest = build_content_index(
        corpus,
        index_dir / "content",
        resolve_kind(kind, len(corpus)),
        threads=BUILD_THREADS,
        progress=progress,
    )
    info = {
        "index_build_s": round(time.perf_counter() - t0, 2),
        "index_kind": manifest.get("kind", resolve_kind(kind, len(corpus))),
        "index_timings_s": {k: round(float(v), 2) for k, v in (manifest.get("timings") or {}).items()},
        "peak_rss_mib_during_index_build": peak_rss_mib(),
        "peak_rss_mib_before_index_build": rss0,
    }
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(info, indent=2) + "\n")
    return {**info, "cached": False}


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0, 1)


def rss_mib() -> float | None:
    """Resident memory now (None where ``/proc`` is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        return None
    return None


# -- one in-process measurement -----------------------------------------------------------------


def _recording_tracer(pipeline: str) -> Any:
    """A tracer that keeps the traces of one pipeline: every request's stages and candidates.

    Installed as the executor's tracer (the hook the OpenTelemetry exporter uses), so the request
    runs as served, without ``debug``. Defined on first use so ``feedmix --help`` imports nothing.
    """
    from feedmix.core.otel_tracing import RequestTracer

    class RecordingTracer(RequestTracer):
        def __init__(self) -> None:
            self.traces: list[RequestTrace] = []

        def record(self, trace: RequestTrace, candidates: int) -> None:
            if trace.pipeline == pipeline:
                self.traces.append(trace)

    return RecordingTracer()


def measure_runtime(
    rt: Runtime,
    users: Sequence[str],
    requests: int,
    warmup: int,
    overrides: dict[str, Any] | None = None,
    desc: str = "requests",
    progress: bool = False,
) -> dict[str, Any]:
    """Serve ``warmup`` then ``requests`` home pages one after another; summarise the measured ones.

    Latency is each request's wall time; CPU is the process's CPU over all measured requests divided
    by their number (a per-request delta would charge one request's side effects to the next).
    """
    if requests < 1 or warmup < 0 or not users:
        raise ValueError("need requests >= 1, warmup >= 0 and at least one user")
    import numpy as np

    tracer = _recording_tracer("home")
    previous = rt.executor.tracer
    rt.executor.tracer = tracer
    walls: list[float] = []
    try:
        for i in range(warmup):
            rt.feeds.feed("home", users[i % len(users)], PAGE, overrides=overrides)
        tracer.traces.clear()
        bar = tqdm(total=requests, desc=desc, file=sys.stderr, leave=False, unit="req", disable=not progress)
        cpu0 = time.process_time()
        for i in range(requests):
            user = users[(warmup + i) % len(users)]
            t0 = time.perf_counter()
            rt.feeds.feed("home", user, PAGE, overrides=overrides)
            walls.append((time.perf_counter() - t0) * 1000.0)
            bar.update(1)
        cpu_s = time.process_time() - cpu0
        bar.close()
    finally:
        rt.executor.tracer = previous
    ms = np.asarray(walls)
    p50, p90, p99 = (float(v) for v in np.percentile(ms, [50.0, 90.0, 99.0]))
    traces = tracer.traces
    return {
        "requests": requests,
        "warmup": warmup,
        "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "mean": float(ms.mean()), "max": float(ms.max())},
        "cpu_ms_per_request": cpu_s * 1000.0 / requests,
        "candidates_after_merge": _mean([_stage(t, "sources", "candidates_out") for t in traces]),
        "candidates_ranked": _mean([_stage(t, "scorers", "candidates_in") for t in traces]),
        "pipeline_ms": _mean([t.wall_ms for t in traces]),
        "pipeline_cpu_ms": _mean([t.cpu_ms for t in traces]),
        "outside_pipeline_ms": float(ms.mean()) - (_mean([t.wall_ms for t in traces]) or 0.0),
        "degraded_share": _mean([1.0 if t.failed_components() else 0.0 for t in traces]),
        "stages": _stage_means(traces),
        "components": _component_means(traces),
    }


def _stage(trace: RequestTrace, name: str, attr: str) -> float | None:
    for s in trace.stages:
        if s.stage == name:
            return float(getattr(s, attr))
    return None


def _mean(values: Sequence[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return float(sum(got) / len(got)) if got else None


def _stage_means(traces: Sequence[RequestTrace]) -> dict[str, dict[str, float]]:
    import numpy as np

    acc: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for t in traces:
        for s in t.stages:
            acc[s.stage].append((s.wall_ms, s.cpu_ms + s.pool_cpu_ms, float(s.candidates_out)))
    return {
        name: {
            "wall_ms": float(np.mean([r[0] for r in rows])),
            "cpu_ms": float(np.mean([r[1] for r in rows])),
            "candidates_out": float(np.mean([r[2] for r in rows])),
        }
        for name, rows in acc.items()
    }


def _component_means(traces: Sequence[RequestTrace]) -> dict[str, dict[str, float]]:
    """Mean wall and CPU ms of each component over the requests it ran in (``stage/component``).

    A wall time well above the CPU time is waiting: for a lock, for the GIL, or for a core.
    """
    import numpy as np

    acc: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in traces:
        for s in t.stages:
            for c in s.components:
                if c.status not in ("disabled", "gated"):
                    acc[f"{s.stage}/{c.component}"].append((c.wall_ms, c.cpu_ms))
    return {
        k: {
            "wall_ms": round(float(np.mean([v[0] for v in rows])), 4),
            "cpu_ms": round(float(np.mean([v[1] for v in rows])), 4),
        }
        for k, rows in sorted(acc.items())
    }


# -- the in-process sweeps ----------------------------------------------------------------------


def corpus_point(
    setup: ScalingSetup, posts: int, requests: int, warmup: int, seed: int = 0, progress: bool = False
) -> dict[str, Any]:
    """Build a runtime on a corpus of ``posts`` posts and measure it at the setup's candidate budget."""
    from feedmix.bench.scaled_corpus import scaled_corpus
    from feedmix.serving.runtime import Runtime

    t0 = time.perf_counter()
    corpus = scaled_corpus(base_corpus(setup), posts, seed=seed)
    if corpus is not _BASE.get(str(setup.config.posts_path())):
        # a server of this corpus would not hold the real one too (a subsample shares none of its
        # strings); copies share the originals' strings, so they keep what they need of it anyway
        _BASE.clear()
        gc.collect()
    corpus_s = time.perf_counter() - t0
    directory = point_dir(setup, posts)
    cfg = point_config(setup, directory)
    _say(f"scaling: {posts:,} posts: content index", progress)
    build = ensure_content_index(corpus, Path(cfg.index_dir), cfg.index_build_kind, progress)
    _say(f"scaling: {posts:,} posts: building the runtime", progress)
    t0 = time.perf_counter()
    rt = Runtime.build(cfg, corpus=corpus)
    runtime_s = time.perf_counter() - t0
    rss_built = rss_mib()
    try:
        measured = measure_runtime(
            rt, setup.users, requests, warmup, desc=f"{posts:,} posts", progress=progress
        )
    finally:
        rt.close()
    return {
        "posts": len(corpus),
        "candidates_target": setup.candidates,
        "build": {
            "corpus_s": round(corpus_s, 2),
            **build,
            "runtime_build_s": round(runtime_s, 2),
            "rss_mib_after_build": rss_built,
            "peak_rss_mib": peak_rss_mib(),
        },
        **measured,
    }


def candidates_points(
    setup: ScalingSetup,
    candidates: Sequence[int],
    requests: int,
    warmup: int,
    progress: bool = False,
    posts: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One runtime on the template's corpus (or one of ``posts`` posts made from it); each point
    overrides the source budgets per request."""
    from feedmix.bench.reference import candidate_budget_params
    from feedmix.bench.scaled_corpus import scaled_corpus
    from feedmix.serving.runtime import Runtime

    corpus = base_corpus(setup) if posts is None else scaled_corpus(base_corpus(setup), posts, seed=seed)
    cfg = point_config(setup, point_dir(setup, len(corpus)))
    ensure_content_index(corpus, Path(cfg.index_dir), cfg.index_build_kind, progress)
    _say(f"scaling: building the runtime on {len(corpus):,} posts", progress)
    rt = Runtime.build(cfg, corpus=corpus)
    out = []
    try:
        for c in candidates:
            params = candidate_budget_params(c)
            measured = measure_runtime(rt, setup.users, requests, warmup, params, f"{c} candidates", progress)
            out.append({"candidates_target": c, "posts": len(corpus), "params": params, **measured})
    finally:
        rt.close()
    return out


def _say(message: str, enabled: bool) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def _isolated(fn: Callable[..., R], *args: Any) -> R:
    """Run ``fn(*args)`` in a fresh interpreter: its memory peak and caches are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# -- the processes sweep (HTTP) ------------------------------------------------------------------


@contextlib.contextmanager
def serving_processes(
    setup: ScalingSetup, n: int, startup_timeout_s: float = 600.0, progress: bool = False
) -> Iterator[list[str]]:
    """``n`` ``feedmix serve`` processes on the template's corpus, each on its own port; their URLs.

    Started one after another (starting several at once on a small machine only makes each slower
    and the peak memory higher), all stopped on exit. Each has its own feature-log directories; the
    event log, ranker registry and campaign store are the template's, read by all.
    """
    from feedmix.bench.serving import ServerProcess

    corpus_dir = point_dir(setup, len(base_corpus(setup)))
    urls: list[str] = []
    with contextlib.ExitStack() as stack:
        for k in range(n):
            port = free_port()
            cfg = point_config(setup, corpus_dir)
            own = (corpus_dir / "servers" / f"p{k}").resolve()
            _own_state(setup.config, own)
            cfg = dataclasses.replace(
                cfg,
                port=port,
                state_dir=str(own),
                feature_log_dir=str(own / "feature_log"),
                feature_offline_dir=str(own / "offline_features"),
            )
            path = corpus_dir / "servers" / f"p{k}.toml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(cfg.to_toml("written by feedmix bench scaling for one serving process"))
            url = f"http://127.0.0.1:{port}"
            cmd = [sys.executable, "-m", "feedmix.cli", "serve", "--config", str(path), "--port", str(port)]
            if progress:
                print(f"scaling: starting server {k + 1}/{n} on {url}", file=sys.stderr, flush=True)
            stack.enter_context(ServerProcess(cmd, url, startup_timeout_s))
            urls.append(url)
        yield urls


def processes_points(
    setup: ScalingSetup,
    processes: Sequence[int],
    rate: float,
    duration_s: float,
    warmup_s: float,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Per process count: the fixed total ``rate``, and ``rate`` per process (one run where equal)."""
    from feedmix.bench.serving import feed_path_for, measure_targets

    path_for = feed_path_for(setup.users, PAGE)
    out: list[dict[str, Any]] = []
    for n in processes:
        with serving_processes(setup, n, progress=progress) as urls:
            modes = [("fixed_total", rate)] if n == 1 else [("fixed_total", rate), ("per_process", rate * n)]
            for mode, offered in modes:
                m = asyncio.run(
                    measure_targets(
                        urls,
                        path_for,
                        offered,
                        duration_s,
                        warmup_s,
                        progress=progress,
                        label=f"{n} processes @ {offered:g}/s",
                    )
                )
                r = m.result
                per_server = [
                    b.get("server_cpu_ms_per_request") if b else None for b in m.breakdowns.values()
                ]
                pipes = [b.get("pipeline_ms_mean") if b else None for b in m.breakdowns.values()]
                out.append(
                    {
                        "processes": n,
                        "mode": "both" if n == 1 else mode,
                        "offered_rps": offered,
                        "achieved_rps": r.achieved_rps,
                        "requests": r.requests,
                        "ok": r.ok,
                        "errors": dict(r.errors),
                        "latency_ms": r.latency.as_dict(),
                        "service_ms": r.service.as_dict(),
                        "cpu_ms_per_request": m.server_cpu_ms_per_request(),
                        "server_cpu_s": m.server_cpu_s(),
                        "cpu_cores_busy": (m.server_cpu_s() or 0.0) / r.elapsed_s if r.elapsed_s else None,
                        "per_server_cpu_ms_per_request": per_server,
                        "pipeline_ms_mean": _mean(pipes),
                        "metrics_errors": m.metrics_errors,
                        "dispatch_lag_ms": r.dispatch_lag_ms.as_dict(),
                        "warnings": r.warnings(),
                    }
                )
    return out


# -- the whole run ------------------------------------------------------------------------------


@dataclass
class ScalingOptions:
    sweeps: tuple[str, ...] = SWEEPS
    corpus_sizes: tuple[int, ...] = DEFAULT_CORPUS_SIZES
    candidates: tuple[int, ...] = DEFAULT_CANDIDATES
    processes: tuple[int, ...] = DEFAULT_PROCESSES
    requests: int = 200
    warmup: int = 30
    rate: float = 20.0
    duration_s: float = 30.0
    warmup_s: float = 10.0
    seed: int = 0
    #: the corpus of the candidates sweep (None: the template's, unscaled)
    candidates_posts: int | None = None
    #: run each corpus point (and the candidates sweep) in a fresh process
    isolate: bool = True
    progress: bool = True


def run_scaling(setup: ScalingSetup, options: ScalingOptions) -> dict[str, Any]:
    """Run the chosen sweeps; a corpus point that fails (e.g. out of memory) is reported, not fatal."""
    quiet = not options.progress
    for name in options.sweeps:
        if name not in SWEEPS:
            raise ValueError(f"unknown sweep {name!r} (known: {', '.join(SWEEPS)})")
    report: dict[str, Any] = {
        "benchmark": "scaling",
        "setup": setup.describe(),
        "options": {k: v for k, v in dataclasses.asdict(options).items() if k != "progress"},
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "memory_gib": _memory_gib(),
        },
    }
    started = time.perf_counter()

    def run(fn: Callable[..., R], *args: Any) -> R:
        return _isolated(fn, *args) if options.isolate else fn(*args)

    for sweep in options.sweeps:  # in the order asked for
        if sweep == "corpus":
            points: list[dict[str, Any]] = []
            skipped: list[dict[str, Any]] = []
            sizes = tqdm(options.corpus_sizes, desc="corpus sweep", file=sys.stderr, disable=quiet)
            for posts in sizes:
                load0 = _loadavg()
                try:
                    point = run(
                        corpus_point,
                        setup,
                        posts,
                        options.requests,
                        options.warmup,
                        options.seed,
                        options.progress,
                    )
                except Exception as exc:  # a point that cannot be built is a finding, not a crash
                    skipped.append({"posts": posts, "reason": f"{type(exc).__name__}: {exc}"})
                    continue
                points.append({**point, "loadavg_1m": [load0, _loadavg()]})
            report["corpus"] = {"points": points, "skipped": skipped}
        elif sweep == "candidates":
            load0 = _loadavg()
            cand = run(
                candidates_points,
                setup,
                options.candidates,
                options.requests,
                options.warmup,
                options.progress,
                options.candidates_posts,
                options.seed,
            )
            report["candidates"] = {"points": cand, "loadavg_1m": [load0, _loadavg()]}
        else:
            run(_prebuild, setup, options.progress)  # once here, not in every server starting at once
            load0 = _loadavg()
            report["processes"] = {
                "rate_rps": options.rate,
                "duration_s": options.duration_s,
                "warmup_s": options.warmup_s,
                "points": processes_points(
                    setup,
                    options.processes,
                    options.rate,
                    options.duration_s,
                    options.warmup_s,
                    options.progress,
                ),
                "loadavg_1m": [load0, _loadavg()],
            }
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    return report


def _prebuild(setup: ScalingSetup, progress: bool) -> None:
    corpus = base_corpus(setup)
    cfg = point_config(setup, point_dir(setup, len(corpus)))
    ensure_content_index(corpus, Path(cfg.index_dir), cfg.index_build_kind, progress)


def _loadavg() -> float | None:
    """The machine's 1-minute load average: how much else wanted the cores while a point ran."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _memory_gib() -> float | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages / 2**30, 1)


# -- output -------------------------------------------------------------------------------------


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as markdown tables, one per sweep, with the builds of the corpus points."""
    out = ["# feedmix bench scaling", ""]
    s = report["setup"]
    out.append(
        f"Workload: {s['workload']} ({s['users']:,} users, {s['request_users']:,} request users,"
        f" {s['candidates']:,} candidates per request outside the candidates sweep). Machine:"
        f" {report['machine']['cpus']} CPUs, {report['machine']['memory_gib']} GiB."
    )
    out.append("")
    if "corpus" in report:
        stage_names = _stage_names(report["corpus"]["points"])
        out += ["## Corpus size (in-process, sequential requests)", ""]
        head = ["posts", "candidates after merge", "p50 ms", "p99 ms", "CPU ms/req"]
        head += [f"{n} ms" for n in stage_names] + ["load avg"]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in report["corpus"]["points"]:
            row = [
                _f(p["posts"]),
                _f(p["candidates_after_merge"], 0),
                _f(p["latency_ms"]["p50"], 2),
                _f(p["latency_ms"]["p99"], 2),
                _f(p["cpu_ms_per_request"], 2),
            ]
            row += [_f(p["stages"].get(n, {}).get("wall_ms"), 2) for n in stage_names]
            row.append(_load(p.get("loadavg_1m")))
            out.append("| " + " | ".join(row) + " |")
        out += ["", "Builds (index: content embeddings + ANN index, cached between runs):", ""]
        head = [
            "posts",
            "corpus s",
            "index s",
            "index kind",
            "runtime build s",
            "RSS after build MiB",
            "peak RSS MiB",
        ]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in report["corpus"]["points"]:
            b = p["build"]
            out.append(
                "| "
                + " | ".join(
                    [
                        _f(p["posts"]),
                        _f(b["corpus_s"]),
                        _f(b.get("index_build_s")) + (" (cached)" if b.get("cached") else ""),
                        str(b.get("index_kind", "-")),
                        _f(b["runtime_build_s"]),
                        _f(b["rss_mib_after_build"], 0),
                        _f(b["peak_rss_mib"], 0),
                    ]
                )
                + " |"
            )
        for sk in report["corpus"].get("skipped", []):
            out.append(f"\nNot measured: {sk['posts']:,} posts: {sk['reason']}")
        out.append("")
    if "candidates" in report:
        points = report["candidates"]["points"]
        stage_names = _stage_names(points)
        posts = points[0]["posts"] if points else 0
        out += [f"## Candidates per request (in-process, {posts:,} posts)", ""]
        head = ["budget", "candidates after merge", "ranked", "p50 ms", "p99 ms", "CPU ms/req"]
        head += [f"{n} ms" for n in stage_names]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in points:
            row = [
                _f(p["candidates_target"]),
                _f(p["candidates_after_merge"], 0),
                _f(p["candidates_ranked"], 0),
                _f(p["latency_ms"]["p50"], 2),
                _f(p["latency_ms"]["p99"], 2),
                _f(p["cpu_ms_per_request"], 2),
            ]
            row += [_f(p["stages"].get(n, {}).get("wall_ms"), 2) for n in stage_names]
            out.append("| " + " | ".join(row) + " |")
        out += [
            "",
            "Machine load average (1 min) before and after: "
            f"{_load(report['candidates'].get('loadavg_1m'))}.",
        ]
        out.append("")
    if "processes" in report:
        pr = report["processes"]
        out += [
            f"## Serving processes (HTTP, open loop, {pr['duration_s']:g} s measured after"
            f" {pr['warmup_s']:g} s of warm-up)",
            "",
        ]
        head = [
            "processes",
            "rate mode",
            "offered/s",
            "achieved/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "CPU ms/req",
            "cores busy",
            "errors",
        ]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for p in pr["points"]:
            lat = p["latency_ms"]
            errors = ", ".join(f"{k}: {v}" for k, v in p["errors"].items()) or "0"
            out.append(
                "| "
                + " | ".join(
                    [
                        str(p["processes"]),
                        p["mode"],
                        _f(p["offered_rps"]),
                        _f(p["achieved_rps"]),
                        _f(lat["p50"]),
                        _f(lat["p99"]),
                        _f(lat["p99_9"]),
                        _f(p["cpu_ms_per_request"], 2),
                        _f(p["cpu_cores_busy"], 2),
                        errors,
                    ]
                )
                + " |"
            )
        out += ["", f"Machine load average (1 min) before and after: {_load(pr.get('loadavg_1m'))}."]
        out.append("")
    return "\n".join(out)


def _load(pair: Sequence[float | None] | None) -> str:
    if not pair:
        return "-"
    return " → ".join(_f(v, 1) for v in pair)


def _short(x: float) -> str:
    """A tick label: 2M, 429k, 250."""
    if x >= 1e6:
        return f"{x / 1e6:g}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def _stage_names(points: Sequence[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for p in points:
        for n in p.get("stages", {}):
            if n not in names:
                names.append(n)
    return names


def write_plot(report: dict[str, Any], path: str | Path) -> bool:
    """A column per sweep: latency (p50, p99) above, CPU per request below; ``False`` without matplotlib."""
    from feedmix.bench.plot import matplotlib_available

    if not matplotlib_available():
        return False
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, str, list[float], dict[str, list[float | None]], list[float | None], bool]] = []
    if report.get("corpus", {}).get("points"):
        pts = report["corpus"]["points"]
        panels.append(
            (
                "corpus size",
                "posts",
                [float(p["posts"]) for p in pts],
                {k: [p["latency_ms"][k] for p in pts] for k in ("p50", "p99")},
                [p["cpu_ms_per_request"] for p in pts],
                True,
            )
        )
    if report.get("candidates", {}).get("points"):
        pts = report["candidates"]["points"]
        panels.append(
            (
                "candidates per request",
                "candidates after merge",
                [float(p["candidates_after_merge"] or p["candidates_target"]) for p in pts],
                {k: [p["latency_ms"][k] for p in pts] for k in ("p50", "p99")},
                [p["cpu_ms_per_request"] for p in pts],
                True,
            )
        )
    if report.get("processes", {}).get("points"):
        pts = report["processes"]["points"]
        for mode, label in (("fixed_total", "fixed total rate"), ("per_process", "rate per process")):
            chosen = [p for p in pts if p["mode"] in (mode, "both")]
            if len(chosen) > 1:
                panels.append(
                    (
                        f"processes ({label})",
                        "serving processes",
                        [float(p["processes"]) for p in chosen],
                        {k: [p["latency_ms"][k] for p in chosen] for k in ("p50", "p99", "p99_9")},
                        [p["cpu_ms_per_request"] for p in chosen],
                        False,
                    )
                )
    if not panels:
        return False
    fig, axes = plt.subplots(2, len(panels), figsize=(4.8 * len(panels), 7.5), squeeze=False)
    try:
        for col, (title, xlabel, xs, lat, cpu, logx) in enumerate(panels):
            top, bottom = axes[0][col], axes[1][col]
            for name, ys in lat.items():
                top.plot(
                    xs, [np.nan if y is None else y for y in ys], marker="o", label=name.replace("_", ".")
                )
            bottom.plot(xs, [np.nan if y is None else y for y in cpu], marker="o", color="tab:green")
            for ax in (top, bottom):
                if logx:
                    ax.set_xscale("log")
                ax.minorticks_off()
                ax.set_xticks(xs)  # the measured points, labelled plainly (no 3x10^2 tick clutter)
                ax.set_xticklabels([_short(x) for x in xs])
                ax.grid(True, which="major", alpha=0.3)
            spread = [y for ys in lat.values() for y in ys if y]
            if spread and max(spread) > 20 * min(spread):  # a saturated point would flatten the rest
                top.set_yscale("log")
                top.set_ylim(bottom=min(spread) / 2, top=max(spread) * 2)
            else:
                top.set_ylim(bottom=0)
            bottom.set_ylim(bottom=0)
            top.set_title(title)
            top.set_ylabel("latency (ms)")
            top.legend()
            bottom.set_xlabel(xlabel)
            bottom.set_ylabel("CPU ms per request")
        fig.tight_layout()
        fig.savefig(str(path))
    finally:
        plt.close(fig)
    return True
