"""Per-request server cost from two ``/metrics`` scrapes taken around a measured window.

Client-side latency says how long a request took, not where the time went.  The server already
counts wall and CPU time per pipeline, stage and component (see :mod:`feedmix.core.metrics`), so
the difference of two scrapes divided by the number of observations in between gives per-request
means for exactly the measured window, with no extra instrumentation and no warm-up pollution.
Histograms are read through their ``_sum``/``_count`` series only: the buckets are too coarse for
means and the client already has exact percentiles.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Snapshot = dict[tuple[str, Labels], float]
"""Sample value by (sample name, sorted label pairs), e.g. ``("x_seconds_sum", (("stage", "rank"),))``."""

PROCESS_CPU = "process_cpu_seconds_total"
PIPELINE_LATENCY = "feedmix_pipeline_latency_seconds"
PIPELINE_CPU = "feedmix_pipeline_cpu_seconds_total"
STAGE_LATENCY = "feedmix_stage_latency_seconds"
STAGE_CPU = "feedmix_stage_cpu_seconds_total"
COMPONENT_LATENCY = "feedmix_component_latency_seconds"
COMPONENT_CPU = "feedmix_component_cpu_seconds_total"
CACHE_REQUESTS = "feedmix_cache_requests_total"


def parse_snapshot(text: str) -> Snapshot:
    """Parse Prometheus text exposition into a flat sample map."""
    snapshot: Snapshot = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            snapshot[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return snapshot


def _deltas(before: Snapshot, after: Snapshot, sample: str) -> dict[Labels, float]:
    """Increase of every series of ``sample`` between the scrapes.

    A series that shrank means the server restarted in between; as Prometheus' ``rate()`` does,
    the value after the reset is then taken as the increase.
    """
    out: dict[Labels, float] = {}
    for (name, labels), value in after.items():
        if name != sample:
            continue
        delta = value - before.get((name, labels), 0.0)
        out[labels] = value if delta < 0 else delta
    return out


def _by(deltas: dict[Labels, float], *keys: str) -> dict[tuple[str, ...], float]:
    """Sum deltas grouped by the given label names (series lacking a label group under "")."""
    grouped: dict[tuple[str, ...], float] = defaultdict(float)
    for labels, value in deltas.items():
        d = dict(labels)
        grouped[tuple(d.get(k, "") for k in keys)] += value
    return grouped


def _ms(total_s: float, count: float) -> float:
    return total_s / count * 1000.0


def server_breakdown(before: Snapshot, after: Snapshot, requests: int) -> dict[str, Any]:
    """Server cost of the window between two snapshots, per request and per stage and component.

    ``requests`` is the number of HTTP requests the client sent in the window; it divides the
    whole-process CPU (``process_cpu_seconds_total``, which includes HTTP parsing, serialisation and
    everything outside the pipelines).  Pipeline, stage and component means divide by their own
    observation counts instead, so a stage that only runs for some requests is not diluted.

    Returns ``server_cpu_ms_per_request`` and ``pipeline_ms_mean`` (``None`` when the series is
    missing or nothing was observed), and nested ``pipelines``, ``stages`` (pipeline → stage) and
    ``components`` (pipeline → stage → component) with ``wall_ms``, ``cpu_ms`` and observation counts.
    """
    cpu = _deltas(before, after, PROCESS_CPU)
    cpu_s = sum(cpu.values()) if cpu else None
    cpu_ms_per_request = _ms(cpu_s, requests) if cpu_s is not None and requests > 0 else None

    pipe_sum = _by(_deltas(before, after, PIPELINE_LATENCY + "_sum"), "pipeline")
    pipe_count = _by(_deltas(before, after, PIPELINE_LATENCY + "_count"), "pipeline")
    pipe_cpu = _by(_deltas(before, after, PIPELINE_CPU), "pipeline")
    pipelines: dict[str, dict[str, float | int | None]] = {}
    for (pipeline,), count in sorted(pipe_count.items()):
        if count > 0:
            pipelines[pipeline] = {
                "runs": int(count),
                "wall_ms": _ms(pipe_sum.get((pipeline,), 0.0), count),
                "cpu_ms": _ms(pipe_cpu[(pipeline,)], count) if (pipeline,) in pipe_cpu else None,
            }
    total_runs = sum(pipe_count.values())
    pipeline_ms_mean = _ms(sum(pipe_sum.values()), total_runs) if total_runs > 0 else None

    stage_sum = _by(_deltas(before, after, STAGE_LATENCY + "_sum"), "pipeline", "stage")
    stage_count = _by(_deltas(before, after, STAGE_LATENCY + "_count"), "pipeline", "stage")
    stage_cpu = _by(_deltas(before, after, STAGE_CPU), "pipeline", "stage")
    stages: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for (pipeline, stage), count in sorted(stage_count.items()):
        if count > 0:
            stages.setdefault(pipeline, {})[stage] = {
                "runs": int(count),
                "wall_ms": _ms(stage_sum.get((pipeline, stage), 0.0), count),
                "cpu_ms": _ms(stage_cpu[(pipeline, stage)], count)
                if (pipeline, stage) in stage_cpu
                else None,
            }

    comp_sum = _by(_deltas(before, after, COMPONENT_LATENCY + "_sum"), "pipeline", "stage", "component")
    comp_count = _by(_deltas(before, after, COMPONENT_LATENCY + "_count"), "pipeline", "stage", "component")
    # The CPU counter is labelled (pipeline, component, owner) without the stage, so its mean is
    # taken over the component's calls in all stages of the pipeline and repeated per stage.
    comp_cpu = _by(_deltas(before, after, COMPONENT_CPU), "pipeline", "component")
    comp_calls: dict[tuple[str, str], float] = defaultdict(float)
    for (pipeline, _stage, component), count in comp_count.items():
        comp_calls[(pipeline, component)] += count
    components: dict[str, dict[str, dict[str, dict[str, float | int | None]]]] = {}
    for (pipeline, stage, component), count in sorted(comp_count.items()):
        if count > 0:
            calls = comp_calls[(pipeline, component)]
            cpu_total = comp_cpu.get((pipeline, component))
            components.setdefault(pipeline, {}).setdefault(stage, {})[component] = {
                "calls": int(count),
                "wall_ms": _ms(comp_sum.get((pipeline, stage, component), 0.0), count),
                "cpu_ms": _ms(cpu_total, calls) if cpu_total is not None else None,
            }

    # total CPU per component with its owning team (from the component registry), for `feedmix cost`
    owned = _by(_deltas(before, after, COMPONENT_CPU), "pipeline", "component", "owner")
    component_cpu = [
        {"pipeline": p, "component": c, "owner": o, "cpu_s": v}
        for (p, c, o), v in sorted(owned.items())
        if v > 0
    ]

    caches: dict[str, dict[str, float | int | None]] = {}
    for (cache, result), count in sorted(
        _by(_deltas(before, after, CACHE_REQUESTS), "cache", "result").items()
    ):
        caches.setdefault(cache, {})[result] = int(count)
    for counts in caches.values():
        # a key the cache could not answer ("error") is then filled, and counted as a miss too
        asked = sum(int(counts.get(r) or 0) for r in ("hit", "miss", "coalesced"))
        counts["hit_rate"] = round(int(counts.get("hit") or 0) / asked, 4) if asked else None

    return {
        "caches": caches,
        "server_cpu_s": cpu_s,
        "server_cpu_ms_per_request": cpu_ms_per_request,
        "pipeline_ms_mean": pipeline_ms_mean,
        "pipelines": pipelines,
        "stages": stages,
        "components": components,
        "component_cpu": component_cpu,
    }
