"""Pick the runtime a model serves with: the fastest one that gives LightGBM's own scores.

:func:`choose_runtime` runs when a model is loaded or registered. It builds the native scorer (the
reference) and every compiled candidate, scores a sample batch with each, keeps the candidates whose
probabilities are within ``tolerance`` of native on every row, times the survivors on the same
sample (single thread, interleaved repeats so machine noise hits all of them alike) and returns the
fastest. A candidate that is not installed, fails to compile, raises, or disagrees is reported with
the reason and skipped, so the worst outcome is serving native, never failing to serve.

The tolerance (``DEFAULT_TOLERANCE = 1e-5`` in probability): measured differences from native on a
300-tree model were 4e-16 for lleaves (double precision, same arithmetic), 1.4e-7 for lleaves in
float32 and 3.2e-7 for ONNX Runtime (float32 accumulation). A split taken the other way changes a
score by a whole leaf value times p(1-p), typically 1e-4 or more, so 1e-5 admits rounding noise
with a wide margin and still rejects a runtime that walks the trees differently.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from feedmix.ranking.inference.compiled_artifact_cache import default_cache_dir, temporary_sibling
from feedmix.ranking.inference.lleaves_scorer import LleavesScorer
from feedmix.ranking.inference.native_scorer import NativeLightGBMScorer
from feedmix.ranking.inference.tree_scorer import Scores, TreeScorer, as_feature_matrix

DEFAULT_TOLERANCE: Final = 1e-5
DEFAULT_TIMING_REPEATS: Final = 5

# (LightGBM text model file, artifact cache directory) -> a loaded scorer.
ScorerFactory = Callable[[Path, Path], TreeScorer]


def _load_lleaves(model_file: Path, cache_dir: Path) -> TreeScorer:
    return LleavesScorer.load(model_file, cache_dir)


# The compiled candidates tried by default, by name. ONNX Runtime and tl2cgen were measured too (see
# lleaves_scorer) and left out: both slower than lleaves here, each with a larger dependency tree.
COMPILED_RUNTIMES: Final[Mapping[str, ScorerFactory]] = {"lleaves": _load_lleaves}

ModelRef = lgb.Booster | str | Path


def _model_file_for(model: ModelRef, cache_dir: str | Path | None) -> tuple[Path, Path]:
    """The text model file the compilers read and the artifact directory, for a path or a Booster.

    A Booster that was never saved is written to ``cache_dir`` under its content hash, so compiling
    the same model twice still hits the cache.
    """
    if not isinstance(model, lgb.Booster):
        model_file = Path(model)
        return model_file, Path(cache_dir) if cache_dir is not None else default_cache_dir(model_file)
    if cache_dir is None:
        raise ValueError("cache_dir is required when the model is a Booster rather than a model file")
    directory = Path(cache_dir)
    directory.mkdir(parents=True, exist_ok=True)
    text = model.model_to_string().encode()
    model_file = directory / f"model-{hashlib.sha256(text).hexdigest()[:24]}.txt"
    if not model_file.exists():
        tmp = temporary_sibling(model_file)
        tmp.write_bytes(text)
        os.replace(tmp, model_file)
    return model_file, directory


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _median_ms(
    scorers: Mapping[str, TreeScorer], X: npt.NDArray[np.float32], repeats: int
) -> dict[str, float]:
    """Median wall time per call of each scorer on ``X``, calls interleaved across scorers."""
    samples: dict[str, list[float]] = {name: [] for name in scorers}
    for _ in range(max(1, repeats)):
        for name, scorer in scorers.items():
            t0 = time.perf_counter()
            scorer.predict(X)
            samples[name].append((time.perf_counter() - t0) * 1000.0)
    return {name: statistics.median(ms) for name, ms in samples.items()}


def check_agreement(reference: Scores, candidate: Any, tolerance: float) -> tuple[bool, float | None, str]:
    """Whether ``candidate`` scores equal ``reference`` within ``tolerance``: (ok, max |diff|, why not)."""
    got = np.asarray(candidate, dtype=np.float64)
    if got.shape != reference.shape:
        return False, None, f"output shape {got.shape} != native {reference.shape}"
    if not np.all(np.isfinite(got)):
        return False, None, "non-finite scores"
    diff = float(np.max(np.abs(got - reference))) if reference.size else 0.0
    if diff > tolerance:
        return False, diff, f"max |score - native| = {diff:.3g} > tolerance {tolerance:g}"
    return True, diff, ""


def choose_runtime(
    model: ModelRef,
    sample_X: npt.NDArray[Any],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    cache_dir: str | Path | None = None,
    runtimes: Mapping[str, ScorerFactory] | None = None,
    repeats: int = DEFAULT_TIMING_REPEATS,
) -> tuple[TreeScorer, dict[str, Any]]:
    """The fastest runtime for ``model`` whose scores match native on ``sample_X``, and why.

    ``model`` is a LightGBM text model file or a ``Booster`` (then ``cache_dir`` is required).
    ``cache_dir`` defaults to ``<model dir>/compiled``. ``runtimes`` replaces the compiled candidates
    (default :data:`COMPILED_RUNTIMES`). ``sample_X`` should look like serving traffic (a real
    candidate batch, missing values included): agreement is only as good as the rows checked.

    Never raises because a compiler is missing or fails; raises ``ValueError`` for an empty sample or
    one whose width does not match the model, because then nothing could be checked.
    """
    native = NativeLightGBMScorer(model if isinstance(model, lgb.Booster) else Path(model))
    X = as_feature_matrix(sample_X, native.n_features)
    if X.shape[0] == 0:
        raise ValueError("sample_X has no rows: compiled runtimes cannot be checked against native")
    reference = native.predict(X)

    entries: dict[str, dict[str, Any]] = {"native": {"status": "reference"}}
    agreeing: dict[str, TreeScorer] = {"native": native}
    candidates = dict(COMPILED_RUNTIMES if runtimes is None else runtimes)
    if "native" in candidates:
        raise ValueError("'native' is the reference runtime and cannot be a compiled candidate")
    model_file, directory = Path(), Path()
    if candidates:
        try:
            model_file, directory = _model_file_for(model, cache_dir)
        except OSError as exc:  # read-only model directory, full disk: serve native
            for name in candidates:
                entries[name] = {"status": "failed", "reason": f"artifact cache unusable: {_describe(exc)}"}
            candidates = {}

    for name, factory in candidates.items():
        entry: dict[str, Any] = {}
        entries[name] = entry
        t0 = time.perf_counter()
        try:
            scorer = factory(model_file, directory)
        except ImportError as exc:
            entry.update(status="unavailable", reason=_describe(exc))
            continue
        except Exception as exc:  # compiler crashed, toolchain missing, unsupported model...
            entry.update(status="failed", reason=f"load/compile failed: {_describe(exc)}")
            continue
        entry["load_s"] = round(time.perf_counter() - t0, 4)
        for attr in ("from_cache", "compile_s"):
            if hasattr(scorer, attr):
                entry[attr] = getattr(scorer, attr)
        try:
            got = scorer.predict(X)
        except Exception as exc:
            entry.update(status="failed", reason=f"predict failed: {_describe(exc)}")
            continue
        ok, diff, why = check_agreement(reference, got, tolerance)
        entry["max_abs_diff"] = diff
        if not ok:
            entry.update(status="disagrees", reason=why)
            continue
        entry["status"] = "agrees"
        agreeing[name] = scorer

    for scorer in agreeing.values():  # warm-up: first calls pay page faults and lazy init
        scorer.predict(X)
    medians = _median_ms(agreeing, X, repeats)
    for name, ms in medians.items():
        entries[name]["median_ms"] = round(ms, 4)
    chosen = min(medians, key=lambda name: medians[name])

    if chosen == "native":
        rejected = {n: e.get("reason", "slower than native") for n, e in entries.items() if n != "native"}
        reason = (
            "native: " + "; ".join(f"{n} {why}" for n, why in rejected.items())
            if rejected
            else "native: no compiled runtime configured"
        )
    else:
        reason = (
            f"{chosen}: agrees with native within {tolerance:g} "
            f"(max diff {entries[chosen]['max_abs_diff']:.3g}) and is fastest "
            f"({medians[chosen]:.3f} ms vs native {medians['native']:.3f} ms per sample batch)"
        )
    report: dict[str, Any] = {
        "chosen": chosen,
        "reason": reason,
        "tolerance": tolerance,
        "sample_rows": int(X.shape[0]),
        "timing_repeats": max(1, repeats),
        "runtimes": entries,
    }
    return agreeing[chosen], report
