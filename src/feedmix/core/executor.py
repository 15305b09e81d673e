"""Runs a built pipeline for one query: order, concurrency, deadlines, fail-open, trace, metrics.

Query hydrators run concurrently, then candidate sources run concurrently, both on a small
shared thread pool and both bounded by the request deadline (and each component's own timeout).
A component that raises or is late is dropped from this request: its output is ignored, the
trace names it and the result reports ``coverage < 1`` and ``degraded``. The columnar stages
(hydrators, filters, scorers, selectors) run inline on the request thread, because a thread hop
costs more than most of them; one with its own ``timeout_ms`` is run on the pool so that it can
be abandoned. When the deadline has passed, the remaining non-essential components are skipped
and the candidates gathered so far are ranked and returned (partial results beat no results).
After the selectors cut the page to ``query.limit``, the blenders mix other items in (ads), and the
synchronous side effects (the scroll session's record) run before the result is returned; the
other side effects run on their own thread after it.
Scores that are NaN or infinite are never ranked first: they sink below every finite score, are
counted (``feedmix_non_finite_scores_total``) and traced (``non_finite_scores`` of the scorers stage).
Load shedding is the executor's too: with ``shedding`` set, each pipeline has a quality factor that
scales every source's candidate budget (except budgets the request set itself) while it runs late.
The one exception to failing open: an *essential filter* (a safety filter) that raises, times out
or returns an unusable mask removes every candidate, because fail-open there would show what it
exists to hide.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from feedmix.core import metrics
from feedmix.core.candidates import CandidateBatch
from feedmix.core.components import PARAM_OVERRIDES, Component, Fallback, ParamHydrator, SynchronousSideEffect
from feedmix.core.load_shedding import QualityFactor, SheddingParams, budget_overrides
from feedmix.core.otel_tracing import NOOP_TRACER, RequestTracer
from feedmix.core.pipeline import Pipeline
from feedmix.core.query import Deadline, Query
from feedmix.core.trace import ComponentTrace, RequestTrace, StageTrace

log = logging.getLogger(__name__)
R = TypeVar("R")

SOURCE_COLUMN = "source"
SCORE_COLUMN = "score"


@dataclass
class PipelineResult:
    query: Query
    #: the selected candidates, best first, at most ``query.limit``
    batch: CandidateBatch
    trace: RequestTrace
    #: names of the sources, indexed by the ``source`` column
    source_names: list[str]
    #: share of each source's candidate budget this request used (below 1: load shedding)
    quality_factor: float = 1.0
    #: the selected candidates before the blenders mixed other items in (None: nothing was blended)
    selected: CandidateBatch | None = None

    @property
    def page(self) -> CandidateBatch:
        """The pipeline's own candidates on the page (without blended items such as ads)."""
        return self.batch if self.selected is None else self.selected

    @property
    def coverage(self) -> float:
        return self.trace.coverage()

    @property
    def failed_components(self) -> list[str]:
        return self.trace.failed_components()

    @property
    def degraded(self) -> bool:
        return bool(self.failed_components)


def _add_columns(batch: CandidateBatch, cols: Any) -> CandidateBatch:
    return batch.with_columns(cols)


def _apply_mask(batch: CandidateBatch, mask: Any) -> CandidateBatch:
    return batch.filter(mask)


def _apply_scores(batch: CandidateBatch, out: Any) -> CandidateBatch:
    cols = out if isinstance(out, Mapping) else {SCORE_COLUMN: out}
    if SCORE_COLUMN not in cols:
        raise ValueError("a scorer's mapping must contain 'score'")
    return batch.with_columns({k: np.asarray(v, dtype=np.float64) for k, v in cols.items()})


def _apply_blend(batch: CandidateBatch, out: Any) -> CandidateBatch:
    if not isinstance(out, CandidateBatch):
        raise TypeError(f"a blender must return a CandidateBatch, not {type(out).__name__}")
    return out


def sink_non_finite(scores: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], int]:
    """Best-first order of ``scores`` with NaN and infinite scores after every finite one (in their
    batch order), and how many there were: a broken model must not put its garbage on top."""
    bad = ~np.isfinite(scores)
    n_bad = int(bad.sum())
    if not n_bad:
        return np.argsort(-scores, kind="stable"), 0
    key = np.where(bad, np.inf, -scores)  # ascending: the best finite score first, the bad ones last
    return np.argsort(key, kind="stable"), n_bad


def _apply_selection(batch: CandidateBatch, picked: Any) -> CandidateBatch:
    idx = np.asarray(picked, dtype=np.intp)
    if idx.ndim != 1 or (len(idx) and (idx.min() < 0 or idx.max() >= len(batch))):
        raise ValueError("selector returned positions outside the batch")
    return batch.take(idx)


def _since(t0: float) -> float:
    """Milliseconds from ``t0`` (the request's ``perf_counter`` start) to now: a trace offset."""
    return (time.perf_counter() - t0) * 1000.0


def _hydrate_query(query: Query, comp: Any, _batch: CandidateBatch) -> Any:
    return comp.hydrate(query)


def _call_with_batch(call: Callable[[Any, CandidateBatch], R], batch: CandidateBatch, comp: Any) -> R:
    return call(comp, batch)


class PipelineExecutor:
    """Executes pipelines; owns the worker pool and the side-effect pool.

    ``tracer`` gets every finished trace (OpenTelemetry spans when ``[observability]`` names a
    collector); the default does nothing, so an untraced process pays one no-op call per request.
    """

    def __init__(
        self,
        workers: int = 8,
        side_effect_workers: int = 1,
        tracer: RequestTracer = NOOP_TRACER,
        shedding: SheddingParams | None = None,
    ) -> None:
        self.tracer = tracer
        self.shedding = shedding
        #: per pipeline name, the load-shedding controller (created on the pipeline's first request)
        self.quality: dict[str, QualityFactor] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="feedmix-stage")
        self._side_pool = ThreadPoolExecutor(
            max_workers=side_effect_workers, thread_name_prefix="feedmix-side"
        )

    def drain_side_effects(self, timeout_s: float = 30.0) -> None:
        """Wait until the side effects queued so far have run (tests, and readers of what they write).

        Exact with one side-effect worker (the default): its queue runs in order, so a marker queued
        now runs after all of them.
        """
        self._side_pool.submit(lambda: None).result(timeout=timeout_s)

    def shutdown(self, wait_for_side_effects: bool = True) -> None:
        self._side_pool.shutdown(wait=wait_for_side_effects)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- one request ---------------------------------------------------------------------------

    def quality_factor(self, pipeline: str) -> QualityFactor | None:
        if self.shedding is None:
            return None
        qf = self.quality.get(pipeline)
        if qf is None:
            qf = self.quality.setdefault(pipeline, QualityFactor(pipeline, self.shedding))
        return qf

    def run(self, pipeline: Pipeline, query: Query, *, hydrated: bool = False) -> PipelineResult:
        """One request. ``hydrated``: the query already holds its features and params (a shadow rerunning
        a served request from its sources on), so the params and query-hydration stages are skipped."""
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        trace = RequestTrace(
            pipeline=pipeline.name, request_id=query.request_id, start_unix_ns=time.time_ns()
        )
        source_names = [s.identifier for s in pipeline.sources]
        qf = self.quality_factor(pipeline.name)
        factor = qf.factor if qf is not None else 1.0
        if factor < 1.0:
            shed = budget_overrides(factor, pipeline.sources, query.params.as_dict(), query.params.explicit)
            query = dataclasses.replace(query, params=query.params.override(shed, explicit=False))
        result = self._run(pipeline, query, trace, source_names, wall0, cpu0, hydrated)
        result.quality_factor = factor
        if qf is not None:
            qf.observe(result.trace.wall_ms)
        return result

    def _run(
        self,
        pipeline: Pipeline,
        query: Query,
        trace: RequestTrace,
        source_names: list[str],
        wall0: float,
        cpu0: float,
        hydrated: bool = False,
    ) -> PipelineResult:
        gate_stage = StageTrace("gates")
        passed = {g.identifier: self._gate(g, query, gate_stage, wall0) for g in pipeline.gates}
        if pipeline.gates:
            trace.stages.append(gate_stage)
        if not all(passed.values()):
            return self._finish(
                PipelineResult(query, CandidateBatch.empty(), trace, source_names), wall0, cpu0
            )

        def runnable(comps: Sequence[Component], stage: StageTrace) -> list[Any]:
            out = []
            for c in comps:
                if not c.enabled(query):
                    stage.components.append(ComponentTrace(c.identifier, c.KIND, "disabled", owner=c.owner))
                elif not all(passed.get(g, True) for g in pipeline.component_gates.get(c.identifier, ())):
                    stage.components.append(ComponentTrace(c.identifier, c.KIND, "gated", owner=c.owner))
                else:
                    out.append(c)
            return out

        # 0. the params of this request (experiment assignment), before anything reads them
        deciders = (
            [c for c in pipeline.query_hydrators if isinstance(c, ParamHydrator)] if not hydrated else []
        )
        if deciders:
            stage = StageTrace("params", start_ms=_since(wall0))
            for comp in runnable(deciders, stage):
                decide = functools.partial(_hydrate_query, query)
                decided = self._inline(query, comp, stage, CandidateBatch.empty(), decide, wall0)
                if decided is not None:
                    query = self._decide_params(query, comp, decided, stage)
            trace.stages.append(stage)

        # 1. query hydration, concurrently
        stage = StageTrace("query_hydration", start_ms=_since(wall0))
        if not hydrated:
            others = [c for c in pipeline.query_hydrators if not isinstance(c, ParamHydrator)]
            features = self._concurrent(
                query, runnable(others, stage), stage, lambda c: c.hydrate(query), wall0
            )
            for _, feats in features:
                query = query.with_features(feats)
            trace.stages.append(stage)

        # 2. candidate sources, concurrently; merge in source order, first occurrence wins
        stage = StageTrace("sources", start_ms=_since(wall0))
        fetched = self._concurrent(
            query, runnable(pipeline.sources, stage), stage, lambda c: c.fetch(query), wall0
        )
        parts = []
        for comp, got in fetched:
            if not isinstance(got, CandidateBatch):
                self._fail(stage, comp.identifier, "error", TypeError(f"returned {type(got).__name__}"))
                continue
            code = np.full(len(got), source_names.index(comp.identifier), dtype=np.int16)
            parts.append(got.with_columns({SOURCE_COLUMN: code}))
        batch = CandidateBatch.concat(parts).dedup()
        if not batch.has(SCORE_COLUMN):
            batch = batch.with_columns({SCORE_COLUMN: np.zeros(len(batch), dtype=np.float64)})
        batch = batch.head(int(query.params["pipeline.max_candidates"]))
        stage.candidates_out = len(batch)
        trace.stages.append(stage)

        # 3-6. the columnar stages, in order, on the request thread
        batch = self._stage(
            query,
            trace,
            "candidate_hydration",
            runnable,
            pipeline.candidate_hydrators,
            batch,
            lambda c, b: c.hydrate(query, b),
            _add_columns,
            wall0,
        )
        batch = self._stage(
            query,
            trace,
            "filters",
            runnable,
            pipeline.filters,
            batch,
            lambda c, b: c.keep(query, b),
            _apply_mask,
            wall0,
        )
        batch = self._stage(
            query,
            trace,
            "scorers",
            runnable,
            pipeline.scorers,
            batch,
            lambda c, b: c.score(query, b),
            _apply_scores,
            wall0,
        )
        order, n_bad = sink_non_finite(batch.column(SCORE_COLUMN))
        batch = batch.take(order)
        if n_bad:
            trace.stages[-1].non_finite_scores = n_bad
            metrics.NON_FINITE_SCORES.labels(pipeline.name).inc(n_bad)
        batch = self._stage(
            query,
            trace,
            "selectors",
            runnable,
            pipeline.selectors,
            batch,
            lambda c, b: c.select(query, b),
            _apply_selection,
            wall0,
        )
        batch = batch.head(query.limit)
        trace.stages[-1].candidates_out = len(batch)
        selected = batch
        if pipeline.blenders:
            batch = self._stage(
                query,
                trace,
                "blenders",
                runnable,
                pipeline.blenders,
                batch,
                lambda c, b: c.blend(query, b),
                _apply_blend,
                wall0,
            )

        result = PipelineResult(query, batch, trace, source_names, selected=selected)
        side_effects = runnable(pipeline.side_effects, StageTrace("side_effects"))
        synchronous = [c for c in side_effects if isinstance(c, SynchronousSideEffect)]
        if synchronous:
            stage = StageTrace("synchronous_side_effects", candidates_in=len(batch), start_ms=_since(wall0))
            for comp in synchronous:
                self._inline(query, comp, stage, batch, lambda c, b: c.run(query, result), wall0)
            stage.candidates_out = len(batch)
            trace.stages.append(stage)
        self._finish(result, wall0, cpu0)
        for comp in side_effects:
            if not isinstance(comp, SynchronousSideEffect):
                self._side_pool.submit(self._side_effect, pipeline.name, comp, query, result)
        return result

    # -- helpers -------------------------------------------------------------------------------

    def _decide_params(self, query: Query, comp: Component, decided: Any, stage: StageTrace) -> Query:
        """Apply a param hydrator's output: its overrides under the request's own, its features.

        All overrides are validated before any applies (``Params.override``), so a variant that has
        become invalid changes nothing: the request runs as the control and the hydrator is failed.
        """
        try:
            features = dict(decided)
            overrides = dict(features.pop(PARAM_OVERRIDES, None) or {})
            mine = {k: v for k, v in overrides.items() if k not in query.params.explicit}
            params = query.params.override(mine) if mine else query.params
        except (TypeError, ValueError) as exc:
            self._fail(stage, comp.identifier, "error", exc)
            return query
        deadline = query.deadline
        if "pipeline.deadline_ms" in mine:
            budget = float(params["pipeline.deadline_ms"]) / 1000.0
            deadline = Deadline(budget, start=deadline.expires_at - deadline.budget_s)
        return dataclasses.replace(query, params=params, deadline=deadline).with_features(features)

    def _finish(self, result: PipelineResult, wall0: float, cpu0: float) -> PipelineResult:
        trace = result.trace
        trace.wall_ms = (time.perf_counter() - wall0) * 1000.0
        # CPU of this thread plus what the pool spent on this request's concurrent components
        pooled = sum(s.pool_cpu_ms for s in trace.stages)
        trace.cpu_ms = (time.thread_time() - cpu0) * 1000.0 + pooled
        metrics.record(trace)
        self.tracer.record(trace, len(result.batch))
        return result

    def _stage(
        self,
        query: Query,
        trace: RequestTrace,
        name: str,
        runnable: Callable[[Sequence[Component], StageTrace], list[Any]],
        comps: Sequence[Component],
        batch: CandidateBatch,
        call: Callable[[Any, CandidateBatch], Any],
        apply: Callable[[CandidateBatch, Any], CandidateBatch],
        t0: float,
    ) -> CandidateBatch:
        """Run one columnar stage: each component's output is checked and applied, or it fails open."""
        stage = StageTrace(name, candidates_in=len(batch), start_ms=_since(t0))
        if len(batch) == 0:  # nothing to hydrate, judge, score or select: no component is called
            stage.components += [
                ComponentTrace(c.identifier, c.KIND, owner=c.owner) for c in runnable(comps, stage)
            ]
            trace.stages.append(stage)
            return batch
        for comp in runnable(comps, stage):
            out = self._inline(query, comp, stage, batch, call, t0)
            if out is not None:
                try:
                    batch = apply(batch, out)
                except (ValueError, TypeError) as exc:
                    self._fail(stage, comp.identifier, "error", exc)
            unjudged = stage.components[-1].status in ("error", "timeout")
            if comp.essential and comp.KIND == "filter" and unjudged:
                # an essential filter (safety) that could not judge the candidates fails closed:
                # an empty, degraded page is better than posts it was there to keep out
                batch = batch.head(0)
            stage.components[-1].candidates_out = len(batch)
        stage.candidates_out = len(batch)
        trace.stages.append(stage)
        return batch

    @staticmethod
    def _fail(stage: StageTrace, identifier: str, status: str, exc: BaseException) -> None:
        for c in reversed(stage.components):
            if c.component == identifier:
                c.status = status  # type: ignore[assignment]
                c.error = f"{type(exc).__name__}: {exc}"
                break
        log.warning("component %s failed (%s): %s", identifier, status, exc)

    def _gate(self, gate: Any, query: Query, stage: StageTrace, t0: float) -> bool:
        ct = ComponentTrace(gate.identifier, gate.KIND, owner=gate.owner, start_ms=_since(t0))
        stage.components.append(ct)
        if not gate.enabled(query):
            ct.status = "disabled"
            return True
        w = time.perf_counter()
        try:
            allowed = bool(gate.allow(query))
        except Exception as exc:  # a broken gate fails open: the pipeline runs
            ct.status, ct.error = "error", f"{type(exc).__name__}: {exc}"
            return True
        finally:
            ct.wall_ms = (time.perf_counter() - w) * 1000.0
        if not allowed:
            ct.status = "gated"
        return allowed

    @staticmethod
    def _timed(comp: Component, fn: Callable[[Any], R]) -> tuple[R, float, float, str | None]:
        """Run and time one component; a ``Fallback`` becomes its value plus the reason."""
        w, c = time.perf_counter(), time.thread_time()
        note = None
        try:
            out = fn(comp)
        except Fallback as fb:
            out, note = fb.value, fb.reason
        return out, (time.perf_counter() - w) * 1000.0, (time.thread_time() - c) * 1000.0, note

    def _inline(
        self,
        query: Query,
        comp: Component,
        stage: StageTrace,
        batch: CandidateBatch,
        call: Callable[[Any, CandidateBatch], R],
        t0: float,
    ) -> R | None:
        n_in = len(batch)
        fn: Callable[[Any], R] = functools.partial(_call_with_batch, call, batch)
        ct = ComponentTrace(
            comp.identifier, comp.KIND, candidates_in=n_in, candidates_out=n_in, owner=comp.owner
        )
        stage.components.append(ct)
        if query.deadline.expired() and not comp.essential:
            ct.status, ct.error = "skipped", "request deadline passed before it ran"
            return None
        own = comp.timeout_s(query)
        w0, c0 = time.perf_counter(), time.thread_time()
        ct.start_ms = (w0 - t0) * 1000.0
        try:
            if own is None:
                out, ct.wall_ms, ct.cpu_ms, note = self._timed(comp, fn)
                if note is not None:
                    ct.status, ct.error = "fallback", note
            else:
                budget = own if comp.essential else min(own, query.deadline.remaining_s())
                fut = self._pool.submit(self._timed, comp, fn)
                try:
                    out, ct.wall_ms, ct.cpu_ms, note = fut.result(timeout=budget)
                    if note is not None:
                        ct.status, ct.error = "fallback", note
                    stage.pool_cpu_ms += ct.cpu_ms
                except TimeoutError:
                    ct.status, ct.error = "timeout", f"no answer within {budget * 1000:.1f} ms"
                    ct.wall_ms = (time.perf_counter() - w0) * 1000.0
                    return None
        except Exception as exc:
            ct.status, ct.error = "error", f"{type(exc).__name__}: {exc}"
            ct.wall_ms, ct.cpu_ms = (time.perf_counter() - w0) * 1000.0, (time.thread_time() - c0) * 1000.0
            log.warning("component %s failed: %s", comp.identifier, traceback.format_exc(limit=3))
            return None
        finally:
            stage.wall_ms += ct.wall_ms
            stage.cpu_ms += ct.cpu_ms
        return out

    def _concurrent(
        self,
        query: Query,
        comps: Sequence[Component],
        stage: StageTrace,
        fn: Callable[[Any], R],
        t0: float,
    ) -> list[tuple[Component, R]]:
        """Run ``comps`` on the pool; return the results that arrived in time, in config order."""
        if not comps:
            return []
        start = time.perf_counter()
        stage.start_ms = (start - t0) * 1000.0
        traces: dict[Future[Any], ComponentTrace] = {}
        limits: dict[Future[Any], float] = {}
        order: dict[Future[Any], int] = {}
        inline: list[tuple[int, Component, ComponentTrace]] = []
        for i, comp in enumerate(comps):
            # pooled components start when submitted (their wall time excludes any queueing)
            ct = ComponentTrace(comp.identifier, comp.KIND, owner=comp.owner, start_ms=stage.start_ms)
            stage.components.append(ct)
            own = comp.timeout_s(query)
            if comp.inline and own is None:
                inline.append((i, comp, ct))
                continue
            fut = self._pool.submit(self._timed, comp, fn)
            traces[fut], order[fut] = ct, i
            limits[fut] = min(query.deadline.expires_at, start + own) if own else query.deadline.expires_at
        pending = set(traces)
        done_ok: list[tuple[int, Component, R]] = []
        # in-process components run here while the pooled ones wait on I/O
        for i, comp, ct in inline:
            if query.deadline.expired() and not comp.essential:
                ct.status, ct.error = "skipped", "request deadline passed before it ran"
                continue
            ct.start_ms = _since(t0)
            try:
                out, ct.wall_ms, ct.cpu_ms, note = self._timed(comp, fn)
                if note is not None:
                    ct.status, ct.error = "fallback", note
            except Exception as exc:
                ct.status, ct.error = "error", f"{type(exc).__name__}: {exc}"
                log.warning("component %s failed: %s", ct.component, exc)
                continue
            ct.candidates_out = len(out) if isinstance(out, CandidateBatch) else 0
            done_ok.append((i, comp, out))
        while pending:
            now = time.perf_counter()
            for fut in [f for f in pending if not f.done() and limits[f] <= now]:
                ct = traces[fut]
                ct.status, ct.error = "timeout", f"no answer within {(limits[fut] - start) * 1000:.1f} ms"
                ct.wall_ms = (now - start) * 1000.0
                pending.discard(fut)
            finished = [f for f in pending if f.done()]
            for fut in finished:
                pending.discard(fut)
                ct = traces[fut]
                try:
                    out, ct.wall_ms, ct.cpu_ms, note = fut.result()
                    if note is not None:
                        ct.status, ct.error = "fallback", note
                except Exception as exc:
                    ct.status, ct.error = "error", f"{type(exc).__name__}: {exc}"
                    ct.wall_ms = (time.perf_counter() - start) * 1000.0
                    log.warning("component %s failed: %s", ct.component, exc)
                    continue
                ct.candidates_out = len(out) if isinstance(out, CandidateBatch) else 0
                done_ok.append((order[fut], comps[order[fut]], out))
            if pending:
                next_limit = min(limits[f] for f in pending)
                wait(pending, timeout=max(0.0, next_limit - time.perf_counter()), return_when=FIRST_COMPLETED)
        stage.wall_ms = (time.perf_counter() - start) * 1000.0
        stage.cpu_ms = sum(c.cpu_ms for c in stage.components)
        stage.pool_cpu_ms = sum(traces[f].cpu_ms for f in traces)
        done_ok.sort(key=lambda t: t[0])
        return [(c, out) for _, c, out in done_ok]

    @staticmethod
    def _side_effect(pipeline: str, comp: Any, query: Query, result: PipelineResult) -> None:
        w, c = time.perf_counter(), time.thread_time()
        status = "ok"
        try:
            comp.run(query, result)
        except Exception as exc:
            status = "error"
            log.warning("side effect %s failed: %s", comp.identifier, exc)
        finally:
            metrics.COMPONENT_LATENCY.labels(pipeline, "side_effects", comp.identifier).observe(
                time.perf_counter() - w
            )
            metrics.COMPONENT_CPU.labels(pipeline, comp.identifier, comp.owner).inc(time.thread_time() - c)
            if status != "ok":
                metrics.COMPONENT_FAILURES.labels(pipeline, comp.identifier, status).inc()
