"""``feedmix bench ranking``: score a candidate batch with every ranker head, native vs compiled.

What is timed is what a feed request pays for ranking: one call per head over the whole batch
(1,000 candidates x 100 float32 features by default), on the calling thread only, for every head of
the multi-task ranker (click, upvote, comment, hide). Each runtime reports p50/p90/p99/mean wall time
per batch (``time.perf_counter``) and CPU time per batch, both of the calling thread
(``time.thread_time``) and of the whole process (``time.process_time``): process CPU close to wall
time and close to thread CPU is the evidence that nothing ran on other threads.

The models are real LightGBM binary classifiers trained here on seeded synthetic data that looks
like feed features: gaussian scores, integer counts, heavy-tailed values with missing entries,
binary flags and uniforms; a fifth of the features carry signal, and the heads share a latent
"interest" term with different base rates (about 5% clicks down to 0.5% hides). Training is not
timed. Compilation is timed separately (first load compiles; a second load must come from the
artifact cache), and the report gives each compiled form's largest score difference from native and
what :func:`~feedmix.ranking.inference.choose_runtime` picks for each head. Runtimes are timed in
interleaved order within each repeat, so a noisy neighbour slows all of them alike.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from feedmix.bench.latency_summary import percentiles_ms
from feedmix.ranking.inference import (
    DEFAULT_TOLERANCE,
    LleavesScorer,
    MultiHeadScorer,
    NativeLightGBMScorer,
    TreeScorer,
)

HEAD_NAMES = ("click", "upvote", "comment", "hide")
# Base logits: about 5% click, 2% upvote, 1% comment, 0.5% hide on an average candidate.
_HEAD_BASE_LOGIT = {"click": -3.0, "upvote": -4.0, "comment": -4.6, "hide": -5.3}


def head_names(n_heads: int) -> list[str]:
    """``click, upvote, comment, hide`` then ``head4, head5...`` for more heads."""
    return [HEAD_NAMES[i] if i < len(HEAD_NAMES) else f"head{i}" for i in range(n_heads)]


def synthetic_features(rng: np.random.Generator, n_rows: int, n_features: int) -> npt.NDArray[np.float32]:
    """A C-contiguous float32 ``[n_rows, n_features]`` matrix with the mix of kinds a feed model sees.

    Column kinds by share: 40% gaussian, 20% integer counts, 20% heavy-tailed (lognormal, 5% missing
    as NaN, so the default-direction branches are exercised), 10% binary, 10% uniform.
    """
    X = np.empty((n_rows, n_features), dtype=np.float32)
    kinds = _column_kinds(n_features)
    for j, kind in enumerate(kinds):
        if kind == "gauss":
            X[:, j] = rng.normal(size=n_rows)
        elif kind == "count":
            X[:, j] = rng.poisson(3.0, size=n_rows)
        elif kind == "heavy":
            col = rng.lognormal(1.0, 1.5, size=n_rows)
            col[rng.random(n_rows) < 0.05] = np.nan
            X[:, j] = col
        elif kind == "binary":
            X[:, j] = rng.integers(0, 2, size=n_rows)
        else:
            X[:, j] = rng.random(n_rows)
    return X


def _column_kinds(n_features: int) -> list[str]:
    shares = (("gauss", 0.4), ("count", 0.2), ("heavy", 0.2), ("binary", 0.1), ("uniform", 0.1))
    kinds: list[str] = []
    for kind, share in shares:
        kinds += [kind] * round(share * n_features)
    kinds = (kinds + ["gauss"] * n_features)[:n_features]
    return kinds


def synthetic_labels(
    rng: np.random.Generator, X: npt.NDArray[np.float32], heads: list[str]
) -> dict[str, npt.NDArray[np.float32]]:
    """Correlated 0/1 labels per head from a fifth of the features (linear, log and interaction terms)."""
    n_rows, n_features = X.shape
    Z = np.nan_to_num(X.astype(np.float64), nan=0.0)
    Z = np.sign(Z) * np.log1p(np.abs(Z))  # tame the heavy tails so no single column dominates
    informative = rng.permutation(n_features)[: max(2, n_features // 5)]
    shared = Z[:, informative] @ rng.normal(0.0, 0.6, size=informative.size)
    a, b = informative[0], informative[1]
    labels: dict[str, npt.NDArray[np.float32]] = {}
    for head in heads:
        own = Z[:, informative] @ rng.normal(0.0, 0.3, size=informative.size)
        logit = _HEAD_BASE_LOGIT.get(head, -4.0) + shared + own + 0.8 * np.tanh(Z[:, a] * Z[:, b])
        if head == "hide":
            logit = _HEAD_BASE_LOGIT["hide"] - 0.7 * shared + own  # hides go against interest
        labels[head] = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    return labels


def train_heads(
    X: npt.NDArray[np.float32],
    labels: Mapping[str, npt.NDArray[np.float32]],
    *,
    trees: int,
    leaves: int,
    threads: int,
    seed: int,
    progress: bool,
) -> tuple[dict[str, lgb.Booster], float]:
    """One LightGBM binary classifier per head on the same matrix; returns the models and seconds taken."""
    params: dict[str, Any] = {
        "objective": "binary",
        "num_leaves": leaves,
        "learning_rate": 0.05,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "num_threads": threads,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }
    t0 = time.perf_counter()
    # One Dataset for all heads: the features are binned once and only the label changes.
    first = next(iter(labels.values()))
    dataset = lgb.Dataset(X, label=first, params={"verbose": -1, "max_bin": 255})
    boosters: dict[str, lgb.Booster] = {}
    with tqdm(total=trees * len(labels), desc="training heads", unit="tree", disable=not progress) as bar:

        def tick(_env: Any) -> None:
            bar.update(1)

        for head, y in labels.items():
            dataset.set_label(y)
            boosters[head] = lgb.train(params, dataset, num_boost_round=trees, callbacks=[tick])
    return boosters, time.perf_counter() - t0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep the cyclic collector out of the timed loop: scoring makes no cycles, a GC pause is noise."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def time_runtimes(
    runtimes: Mapping[str, Mapping[str, TreeScorer]],
    X: npt.NDArray[np.float32],
    repeats: int,
    *,
    progress: bool,
) -> dict[str, dict[str, Any]]:
    """Per runtime: wall and CPU time per batch (all heads), and per-head p50.

    Each repeat times every runtime once, in an order rotated per repeat, after one warm-up batch each.
    """
    names = list(runtimes)
    wall: dict[str, list[float]] = {n: [] for n in names}
    thread_cpu: dict[str, list[float]] = {n: [] for n in names}
    process_cpu: dict[str, list[float]] = {n: [] for n in names}
    per_head: dict[str, dict[str, list[float]]] = {n: {h: [] for h in runtimes[n]} for n in names}
    for heads in runtimes.values():
        for scorer in heads.values():
            scorer.predict(X)
    with _gc_paused():
        for r in tqdm(range(repeats), desc="scoring", unit="batch", disable=not progress):
            for k in range(len(names)):
                name = names[(r + k) % len(names)]
                heads = runtimes[name]
                c_thread, c_process = time.thread_time(), time.process_time()
                t_start = time.perf_counter()
                for head, scorer in heads.items():
                    t_head = time.perf_counter()
                    scorer.predict(X)
                    per_head[name][head].append(time.perf_counter() - t_head)
                wall[name].append(time.perf_counter() - t_start)
                thread_cpu[name].append(time.thread_time() - c_thread)
                process_cpu[name].append(time.process_time() - c_process)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        out[name] = {
            **percentiles_ms(wall[name]),
            "cpu_thread_mean_ms": round(float(np.mean(thread_cpu[name])) * 1000.0, 3),
            "cpu_process_mean_ms": round(float(np.mean(process_cpu[name])) * 1000.0, 3),
            "per_head_p50_ms": {
                h: round(float(np.percentile(np.array(v) * 1000.0, 50)), 3) for h, v in per_head[name].items()
            },
        }
    return out


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_ranking_bench(
    *,
    n_candidates: int = 1000,
    n_features: int = 100,
    trees: int = 300,
    leaves: int = 63,
    n_heads: int = 4,
    train_rows: int = 200_000,
    train_threads: int = 2,
    repeats: int = 500,
    seed: int = 7,
    tolerance: float = DEFAULT_TOLERANCE,
    work_dir: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the heads, compile them, time every runtime and return the JSON-ready report.

    ``work_dir`` keeps the models (under ``models-<digest of the training settings>``) and their
    compiled artifacts: a rerun with the same training settings skips training and compiling, so
    timings can be repeated on a quieter machine in a minute. By default a temporary directory is
    used and removed.
    """
    say = log or (lambda msg: print(msg, file=sys.stderr, flush=True) if progress else None)
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="feedmix-bench-ranking-") as tmp:
            report = run_ranking_bench(
                n_candidates=n_candidates,
                n_features=n_features,
                trees=trees,
                leaves=leaves,
                n_heads=n_heads,
                train_rows=train_rows,
                train_threads=train_threads,
                repeats=repeats,
                seed=seed,
                tolerance=tolerance,
                work_dir=Path(tmp),
                progress=progress,
                log=log,
            )
            report["training"]["model_dir"] = None  # removed with the temporary directory
            return report

    heads = head_names(n_heads)
    # Training rows and candidates come from independent streams of the same seed, so the models do
    # not depend on --candidates and a rerun with the same training settings can reuse them.
    candidates = synthetic_features(np.random.default_rng([seed, 1]), n_candidates, n_features)
    training_key = {
        "generator": 1,
        "train_rows": train_rows,
        "features": n_features,
        "heads": heads,
        "trees": trees,
        "leaves": leaves,
        "seed": seed,
        "train_threads": train_threads,
        "lightgbm": _version("lightgbm"),
    }
    digest = hashlib.sha256(json.dumps(training_key, sort_keys=True).encode()).hexdigest()[:12]
    model_dir = work_dir / f"models-{digest}"
    model_files = {head: model_dir / f"{head}.txt" for head in heads}
    reused = all(f.exists() for f in model_files.values())
    train_s = 0.0
    if reused:
        say(f"reusing the trained models in {model_dir}")
    else:
        say(f"generating {train_rows:,} training rows x {n_features} features")
        rng = np.random.default_rng([seed, 0])
        X_train = synthetic_features(rng, train_rows, n_features)
        boosters, train_s = train_heads(
            X_train,
            synthetic_labels(rng, X_train, heads),
            trees=trees,
            leaves=leaves,
            threads=train_threads,
            seed=seed,
            progress=progress,
        )
        model_dir.mkdir(parents=True, exist_ok=True)
        for head, booster in boosters.items():
            partial = model_files[head].with_suffix(".tmp")
            booster.save_model(str(partial))
            os.replace(partial, model_files[head])  # a killed run never leaves a half-written model to reuse
        del boosters, X_train
    leaves_grown: dict[str, float] = {}
    for head, path in model_files.items():
        info = lgb.Booster(model_file=str(path)).dump_model()["tree_info"]
        leaves_grown[head] = round(float(np.mean([t["num_leaves"] for t in info])), 1) if info else 0.0

    # What a server does at load time: native from the model files, compiled forms from the cache.
    runtimes: dict[str, dict[str, TreeScorer]] = {
        "native": {h: NativeLightGBMScorer(f) for h, f in model_files.items()}
    }
    compile_report: dict[str, Any] = {}
    try:
        compiled: dict[str, TreeScorer] = {}
        first_s: dict[str, float] = {}
        cached_s: dict[str, float] = {}
        from_cache: dict[str, bool] = {}
        first_from_cache: dict[str, bool] = {}
        for head in tqdm(heads, desc="compiling (lleaves)", unit="head", disable=not progress):
            first = LleavesScorer.load(model_files[head])
            first_s[head] = round(first.compile_s, 3)
            first_from_cache[head] = first.from_cache  # true on a rerun with the same --work-dir
            again = LleavesScorer.load(model_files[head])  # a server restart: must come from the cache
            cached_s[head] = round(again.compile_s, 4)
            from_cache[head] = again.from_cache
            compiled[head] = again
        runtimes["lleaves"] = compiled
        compile_report["lleaves"] = {
            "first_load_s": first_s,
            "first_load_from_cache": first_from_cache,
            "cached_load_s": cached_s,
            "second_load_from_cache": from_cache,
        }
    except Exception as exc:  # the bench still reports native when lleaves is missing or fails
        compile_report["lleaves"] = {"error": _describe(exc)}

    reference = {h: s.predict(candidates) for h, s in runtimes["native"].items()}
    max_diff: dict[str, dict[str, float]] = {}
    for name, scorers in runtimes.items():
        if name != "native":
            max_diff[name] = {
                h: float(np.max(np.abs(s.predict(candidates) - reference[h]))) for h, s in scorers.items()
            }

    say("choosing a runtime per head (choose_runtime)")
    served = MultiHeadScorer.choose(model_files, candidates, tolerance=tolerance, repeats=20)
    runtimes["chosen"] = served.heads
    chosen = {
        head: {
            "runtime": report["chosen"],
            "reason": report["reason"],
            "median_ms": {n: e.get("median_ms") for n, e in report["runtimes"].items()},
        }
        for head, report in served.reports.items()
    }

    say(f"timing {repeats} batches of {n_candidates} candidates x {n_heads} heads per runtime")
    timings = time_runtimes(runtimes, candidates, repeats, progress=progress)
    speedup = {
        name: round(timings["native"]["p50_ms"] / t["p50_ms"], 2)
        for name, t in timings.items()
        if name != "native" and t["p50_ms"] > 0
    }
    return {
        "bench": "ranking",
        "config": {
            "candidates": n_candidates,
            "features": n_features,
            "heads": heads,
            "trees": trees,
            "leaves": leaves,
            "train_rows": train_rows,
            "train_threads": train_threads,
            "repeats": repeats,
            "seed": seed,
            "tolerance": tolerance,
            "inference_threads": 1,
        },
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "lightgbm": _version("lightgbm"),
            "lleaves": _version("lleaves"),
            "llvmlite": _version("llvmlite"),
        },
        "training": {
            "seconds": round(train_s, 1),
            "reused_models": reused,
            "model_dir": str(model_dir),
            "mean_leaves_per_tree": leaves_grown,
        },
        "timed": "per batch: one predict call per head over the whole [candidates, features] float32 matrix",
        "runtimes": timings,
        "speedup_p50_vs_native": speedup,
        "compile": compile_report,
        "max_abs_diff_vs_native": max_diff,
        "choose_runtime": chosen,
    }


def main(argv: list[str] | None = None) -> int:
    """``feedmix bench ranking [--candidates N] [--features K] ...``: print the JSON report."""
    p = argparse.ArgumentParser(
        prog="feedmix bench ranking",
        description="Score a candidate batch with every ranker head, LightGBM native vs compiled, 1 thread.",
    )
    p.add_argument("--candidates", type=int, default=1000, help="rows per scored batch (default 1000)")
    p.add_argument("--features", type=int, default=100, help="features per candidate (default 100)")
    p.add_argument("--trees", type=int, default=300, help="boosting rounds per head (default 300)")
    p.add_argument("--leaves", type=int, default=63, help="num_leaves per tree (default 63)")
    p.add_argument(
        "--heads", type=int, default=4, help="model heads: click, upvote, comment, hide (default 4)"
    )
    p.add_argument("--train-rows", type=int, default=200_000, help="synthetic training rows (default 200000)")
    p.add_argument("--train-threads", type=int, default=2, help="LightGBM threads for training only")
    p.add_argument("--repeats", type=int, default=500, help="timed batches per runtime (default 500)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="max |score diff| vs native")
    p.add_argument("--work-dir", type=Path, default=None, help="keep models and compiled artifacts here")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report to this file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars or messages on stderr")
    args = p.parse_args(argv)
    for flag in ("candidates", "features", "trees", "heads", "train_rows", "train_threads", "repeats"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1")
    if args.leaves < 2:
        p.error("--leaves must be at least 2")
    report = run_ranking_bench(
        n_candidates=args.candidates,
        n_features=args.features,
        trees=args.trees,
        leaves=args.leaves,
        n_heads=args.heads,
        train_rows=args.train_rows,
        train_threads=args.train_threads,
        repeats=args.repeats,
        seed=args.seed,
        tolerance=args.tolerance,
        work_dir=args.work_dir,
        progress=not args.no_progress,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
