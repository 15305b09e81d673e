"""``feedmix bench features``: read N features for M candidates, in process, from Redis, and with Feast.

What is timed is what a feed request pays: the ``OnlineFeaturesHydrator`` call for a batch of
candidate ids (key encoding, the store read, decoding into one numpy column per feature), once
against the in-process store and once against the Redis store (one MGET). The Redis store's
round-trip counter is reported per read, so "one round trip" is measured, not assumed. Most
of the Redis figure is redis-py parsing the 1,000-item reply in Python; with ``hiredis``
importable it parses in C (``"hiredis"`` in the report says which was used).

Feast, for comparison, reads the same values for the same keys from the same Redis through
``FeatureStore.get_online_features(...).to_dict()`` (columnar ``entity_rows``, its fast path; the
entity rows are built outside the timed region). Feast is a benchmark-only dependency that
conflicts with our pins (it wants redis 7.x), so it lives in its own virtualenv ``.venv-feast``,
created on first use (``python -m venv`` + ``pip install feast[redis]==FEAST_VERSION``), and runs
as a subprocess: :func:`feast_child` is shipped to it as source and prints JSON. If Feast cannot
be installed or run, the result says why under ``"feast": {"error": ...}`` and the other two
figures still stand.

Every store writes under a fresh key prefix / Feast project and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
import redis
from redis.utils import HIREDIS_AVAILABLE

from feedmix.bench.latency_summary import percentiles_ms
from feedmix.components.candidate_hydrators.online_features_hydrator import OnlineFeaturesHydrator
from feedmix.core.candidates import CandidateBatch
from feedmix.core.params import ParamRegistry, Params
from feedmix.core.query import Deadline, Query
from feedmix.features.entity_keys import post_keys
from feedmix.features.memory_online_store import MemoryOnlineStore
from feedmix.features.online_store import OnlineStore
from feedmix.features.redis_online_store import RedisOnlineStore
from feedmix.features.registry import FeatureDefinition, FeatureRegistry

FEAST_VERSION = "0.67.0"
DEFAULT_FEAST_VENV = Path(".venv-feast")
_FEAST_INSTALL_TIMEOUT_S = 900
_FEAST_RUN_TIMEOUT_S = 900

Progress = Callable[[str], None]


def bench_registry(n_features: int) -> FeatureRegistry:
    """``n_features`` float32 post features ``f000``, ``f001``... (the benchmark's own registry)."""
    return FeatureRegistry(
        FeatureDefinition("post", f"f{i:03d}", "float32", 0.0, 3600.0, "bench", "benchmark feature")
        for i in range(n_features)
    )


def _time_hydrator(
    store: OnlineStore, ids: npt.NDArray[np.int64], values: npt.NDArray[np.float32], repeats: int
) -> dict[str, Any]:
    """Time the hydrator over ``repeats`` reads (after 5 warm-up reads) and check what it returns."""
    hydrator = OnlineFeaturesHydrator("bench_features", store)
    batch = CandidateBatch(ids)
    query = Query("bench", "bench", Params({}, ParamRegistry()), Deadline.from_ms(60_000), "bench", now=0.0)
    cols = hydrator.hydrate(query, batch)
    got = np.stack([np.asarray(cols[f"f.{name}"]) for name in hydrator.features])
    if not np.array_equal(got, values):
        raise AssertionError("the store returned other values than were written")
    for _ in range(5):
        hydrator.hydrate(query, batch)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.thread_time()
        hydrator.hydrate(query, batch)
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)
    out: dict[str, Any] = percentiles_ms(wall)
    out["cpu_p50_ms"] = round(float(np.median(cpu)) * 1000.0, 3)
    return out


def run_features_bench(
    n_candidates: int = 1000,
    n_features: int = 50,
    repeats: int = 300,
    redis_url: str = "redis://127.0.0.1:6379/0",
    with_feast: bool = True,
    progress: bool = True,
    feast_venv: Path = DEFAULT_FEAST_VENV,
    install_feast: bool = True,
    seed: int = 0,
    cluster: bool = False,
) -> dict[str, Any]:
    """Run the benchmark and return a JSON-able report (progress lines go to stderr)."""
    say: Progress = (
        (lambda msg: print(f"[bench features] {msg}", file=sys.stderr, flush=True))
        if progress
        else (lambda msg: None)
    )
    if n_candidates < 1 or n_features < 1 or repeats < 1:
        raise ValueError("n_candidates, n_features and repeats must be >= 1")
    rng = np.random.default_rng(seed)
    # distinct, realistic (5-7 base36 digit) post ids
    ids = np.unique(rng.integers(36**5, 36**7, size=n_candidates * 2))[:n_candidates]
    rng.shuffle(ids)
    keys = post_keys(ids)
    registry = bench_registry(n_features)
    names = [d.name for d in registry.by_entity("post")]
    values = rng.random((n_features, len(ids)), dtype=np.float32)
    columns = dict(zip(names, values, strict=True))
    report: dict[str, Any] = {
        "what": f"read {n_features} float32 features for {len(ids)} candidates (OnlineFeaturesHydrator)",
        "n_candidates": len(ids),
        "n_features": n_features,
        "repeats": repeats,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }

    say("in-process store")
    memory = MemoryOnlineStore(registry)
    memory.write("post", keys, columns, ts=time.time())
    report["in_process"] = _time_hydrator(memory, ids, values, repeats)

    say(f"redis store at {redis_url}")
    prefix = f"feedmix-bench-{uuid.uuid4().hex[:10]}"
    try:
        report["redis"] = _bench_redis(redis_url, prefix, registry, ids, keys, columns, values, repeats)
    except Exception as exc:
        report["redis"] = {"error": f"{type(exc).__name__}: {exc}"}

    if cluster:  # the same read on a local Redis Cluster: 3 masters, 3 replicas
        from feedmix.bench.local_cluster import LocalCluster

        say("a local Redis Cluster (3 masters, 3 replicas)")
        local = LocalCluster()
        try:
            url = f"redis://127.0.0.1:{local.ports[0]}/0"
            out = _bench_redis(url, prefix, registry, ids, keys, columns, values, repeats, cluster=True)
            out["masters"] = 3
            report["redis_cluster"] = out
        except Exception as exc:
            report["redis_cluster"] = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            local.stop()

    if with_feast:
        say(f"feast (virtualenv {feast_venv})")
        report["feast"] = run_feast(
            redis_url,
            [k.decode() for k in keys.tolist()],
            names,
            values,
            repeats,
            feast_venv,
            install_feast,
            say,
        )
        feast_p50, redis_p50 = report["feast"].get("p50_ms"), report["redis"].get("p50_ms")
        if feast_p50 and redis_p50:
            report["feast_over_redis_p50"] = round(feast_p50 / redis_p50, 1)
    return report


def _bench_redis(
    redis_url: str,
    prefix: str,
    registry: FeatureRegistry,
    ids: npt.NDArray[np.int64],
    keys: npt.NDArray[np.bytes_],
    columns: dict[str, npt.NDArray[np.float32]],
    values: npt.NDArray[np.float32],
    repeats: int,
    cluster: bool = False,
) -> dict[str, Any]:
    extra = "&cluster=true" if cluster else ""
    store = RedisOnlineStore.from_url(f"{redis_url}?prefix={prefix}&timeout_ms=2000{extra}", registry)
    try:
        store.write("post", keys, columns, ts=time.time())
        before = store.round_trips
        out = _time_hydrator(store, ids, values, repeats)
        # a cluster read is one pipelined MGET per master, issued together: counted once here
        out["round_trips_per_read"] = (store.round_trips - before) / (repeats + 6)
        out["record_bytes"] = store.schema("post").record_size
        # redis-py parses replies in C when hiredis is importable: about 3x less CPU for this read
        out["hiredis"] = bool(HIREDIS_AVAILABLE)
        return out
    finally:
        store.close()
        if not cluster:  # a local cluster dies with the bench; a shared Redis is cleaned
            with contextlib.suppress(redis.RedisError):  # best effort: the keys expire anyway
                client = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
                stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
                for i in range(0, len(stale), 1000):
                    client.delete(*stale[i : i + 1000])
                client.close()


# -- Feast ---------------------------------------------------------------------------------------


def feast_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_feast_venv(venv: Path, install: bool, say: Progress) -> str | None:
    """Make sure ``venv`` has Feast; returns an error message instead of raising."""
    python = feast_python(venv)
    probe = [str(python), "-c", "import feast; print(feast.__version__)"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return None
    if not install:
        return f"Feast is not installed in {venv} (let the benchmark install it, or pip install feast[redis])"
    say(f"installing feast[redis]=={FEAST_VERSION} into {venv} (first run only, about a minute)")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "-q", f"feast[redis]=={FEAST_VERSION}"],
    ]
    for i, step in enumerate(steps):
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=_FEAST_INSTALL_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return f"{' '.join(step[:4])} timed out"
        if done.returncode != 0:
            return f"{' '.join(step[:4])} failed: {(done.stderr or done.stdout)[-2000:]}"
        if i == 0:
            # keep the virtualenv out of git without touching the repository's .gitignore
            (venv / ".gitignore").write_text("*\n")
    return None


def run_feast(
    redis_url: str,
    keys: list[str],
    names: list[str],
    values: npt.NDArray[np.float32],
    repeats: int,
    venv: Path = DEFAULT_FEAST_VENV,
    install: bool = True,
    say: Progress = lambda msg: None,
) -> dict[str, Any]:
    """Time Feast's online read of ``values`` (features × keys) from the Redis at ``redis_url``."""
    error = ensure_feast_venv(venv, install, say)
    if error:
        return {"error": error}
    parts = urlsplit(redis_url)
    db = parts.path.strip("/") or "0"
    connection = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379},db={db}"
    if parts.password:
        connection += f",password={parts.password}"
    with tempfile.TemporaryDirectory(prefix="feedmix-feast-") as tmp:
        np.save(Path(tmp) / "values.npy", values)
        config = {
            "dir": tmp,
            "connection_string": connection,
            "project": f"feedmix_bench_{uuid.uuid4().hex[:10]}",
            "keys": keys,
            "names": names,
            "repeats": repeats,
        }
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        script = Path(tmp) / "feast_child.py"
        source = textwrap.dedent(inspect.getsource(feast_child))
        script.write_text(
            "from __future__ import annotations\nimport sys\n\n"
            f"{source}\n\nif __name__ == '__main__':\n    feast_child(sys.argv[1])\n"
        )
        try:
            done = subprocess.run(
                [str(feast_python(venv)), str(script), str(Path(tmp) / "config.json")],
                capture_output=True,
                text=True,
                timeout=_FEAST_RUN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the Feast run took longer than {_FEAST_RUN_TIMEOUT_S} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"Feast run failed (exit {done.returncode}): {done.stderr[-2000:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def feast_child(config_path: str) -> None:
    """Runs inside the Feast virtualenv (only stdlib, numpy, pandas and feast there); prints JSON.

    Registers an entity ``post_id`` and one FeatureView with the benchmark's float32 features,
    writes the values with ``write_to_online_store``, checks one read against them, times
    ``get_online_features(...).to_dict()`` and tears the project's Redis keys down again.
    """
    import json
    import time
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    import numpy as np
    import pandas as pd
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.infra.online_stores.redis import RedisOnlineStoreConfig
    from feast.repo_config import RegistryConfig, RepoConfig
    from feast.types import Float32

    cfg = json.loads(Path(config_path).read_text())
    tmp = Path(cfg["dir"])
    keys, names = cfg["keys"], cfg["names"]
    values = np.load(tmp / "values.npy")
    frame = pd.DataFrame({"post_id": keys, **{n: values[i] for i, n in enumerate(names)}})
    frame["event_timestamp"] = datetime.now(timezone.utc)  # noqa: UP017 (the child may run an older Python)
    frame.to_parquet(tmp / "posts.parquet")

    store = FeatureStore(
        config=RepoConfig(
            project=cfg["project"],
            provider="local",
            registry=RegistryConfig(path=str(tmp / "registry.db")),
            online_store=RedisOnlineStoreConfig(connection_string=cfg["connection_string"]),
            entity_key_serialization_version=3,
            repo_path=str(tmp),
        )
    )
    post = Entity(name="post", join_keys=["post_id"], value_type=ValueType.STRING)
    view = FeatureView(
        name="post_bench",
        entities=[post],
        schema=[Field(name=n, dtype=Float32) for n in names],
        source=FileSource(path=str(tmp / "posts.parquet"), timestamp_field="event_timestamp"),
        ttl=timedelta(days=1),
        online=True,
    )
    store.apply([post, view])
    try:
        store.write_to_online_store("post_bench", frame)
        refs = [f"post_bench:{n}" for n in names]
        rows = {"post_id": keys}
        got = store.get_online_features(features=refs, entity_rows=rows).to_dict()
        back = np.array([got[n] for n in names], dtype=np.float32)
        if not np.array_equal(back, values):
            raise AssertionError("Feast returned other values than were written")
        for _ in range(3):
            store.get_online_features(features=refs, entity_rows=rows).to_dict()
        wall, bare = [], []
        for _ in range(int(cfg["repeats"])):
            t0 = time.perf_counter()
            response = store.get_online_features(features=refs, entity_rows=rows)
            t1 = time.perf_counter()
            response.to_dict()
            wall.append(time.perf_counter() - t0)
            bare.append(t1 - t0)
        ms, bare_ms = np.array(wall) * 1000.0, np.array(bare) * 1000.0
        import feast

        print(
            json.dumps(
                {
                    "feast_version": feast.__version__,
                    "p50_ms": round(float(np.percentile(ms, 50)), 3),
                    "p90_ms": round(float(np.percentile(ms, 90)), 3),
                    "p99_ms": round(float(np.percentile(ms, 99)), 3),
                    "mean_ms": round(float(ms.mean()), 3),
                    "get_online_features_p50_ms": round(float(np.percentile(bare_ms, 50)), 3),
                    "timed": "get_online_features(features, entity_rows={'post_id': keys}).to_dict()",
                }
            )
        )
    finally:
        store.teardown()


def main(argv: list[str] | None = None) -> int:
    """``python -m feedmix.bench.features [--candidates N] [--features K] ...``: print the JSON report."""
    import argparse

    p = argparse.ArgumentParser(
        prog="feedmix bench features", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    p.add_argument("--candidates", type=int, default=1000)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--repeats", type=int, default=300)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--no-feast", action="store_true", help="skip the Feast comparison")
    p.add_argument("--feast-venv", type=Path, default=DEFAULT_FEAST_VENV)
    p.add_argument("--no-install", action="store_true", help="do not create the Feast virtualenv")
    p.add_argument("--cluster", action="store_true", help="also read from a local Redis Cluster it starts")
    args = p.parse_args(argv)
    report = run_features_bench(
        n_candidates=args.candidates,
        n_features=args.features,
        repeats=args.repeats,
        redis_url=args.redis_url,
        with_feast=not args.no_feast,
        feast_venv=args.feast_venv,
        install_feast=not args.no_install,
        cluster=args.cluster,
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
