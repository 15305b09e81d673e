"""LightGBM models compiled to native code with lleaves (LLVM), cached on disk per model and CPU.

Why lleaves: measured on this project's 2-core dev machine with a 300-tree, 63-leaf binary model
over 1,000 candidates x 100 features, single thread, per head and batch (p50):

=====================  ========  ============  ===============================================
runtime                p50 ms    max |diff|    notes
=====================  ========  ============  ===============================================
LightGBM native        16-24     0             ``Booster.predict(num_threads=1)``
lleaves (fp64)         4.2       4e-16         this module; compile about 40 s, load 20 ms
lleaves (fp32)         4.0       1.4e-7        float32 thresholds can flip splits; not used
tl2cgen 1.0 (gcc)      15        0             also needs a per-thread predictor
ONNX Runtime 1.32      13.7      3.2e-7        onnxmltools converter, 1 intra-op thread
treelite GTIL          27        0             interpreter
=====================  ========  ============  ===============================================

lleaves compiles each tree into branch code, evaluates in double precision like LightGBM (so the
scores are the same to the last bits, not only within a tolerance) and its per-call entry point is a
plain C function that releases the GIL and keeps no state, so concurrent requests can score with one
loaded model at once. ``n_jobs=1`` keeps every call on the calling thread (lleaves would otherwise
start a thread pool of all cores per call).

lleaves 1.3.0 uses llvmlite's legacy pass-manager API, which llvmlite removed in 0.45; hence the
``llvmlite==0.44.0`` pin.

Compilation happens once per model file: :meth:`LleavesScorer.load` compiles into the artifact cache
(see :mod:`feedmix.ranking.inference.compiled_artifact_cache`) and later loads read the object back
(``from_cache`` is then true). lleaves itself does not check that a cached object belongs to the
model it is given; the cache key here does.
"""

from __future__ import annotations

import importlib.metadata
import time
from pathlib import Path
from typing import Any, Final

import numpy as np

from feedmix.ranking.inference.compiled_artifact_cache import (
    artifact_path,
    default_cache_dir,
    discard,
    file_sha256,
    publish,
    temporary_sibling,
)
from feedmix.ranking.inference.tree_scorer import FloatMatrix, Scores, as_feature_matrix

# lleaves' "large" code model is the safe one for any forest size ("small" is about 15% faster on
# a 300-tree model here, but lleaves documents that it can crash on very large forests).
DEFAULT_COMPILE_OPTIONS: Final[dict[str, Any]] = {
    "fblocksize": 34,
    "fcodemodel": "large",
    "finline": True,
    "use_fp64": True,
}


def _compiler_identity(options: dict[str, Any]) -> dict[str, Any]:
    """Everything besides the model that shapes the compiled object (see the cache module)."""
    import llvmlite
    import llvmlite.binding as llvm

    llvm.initialize()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM raises when it cannot detect them; lleaves then compiles without
        features = ""
    return {
        "runtime": "lleaves",
        "lleaves": importlib.metadata.version("lleaves"),
        "llvmlite": llvmlite.__version__,
        "triple": llvm.get_process_triple(),
        "cpu": llvm.get_host_cpu_name(),
        "cpu_features": features,
        "options": options,
    }


class LleavesScorer:
    """A LightGBM text model compiled by lleaves; ``predict`` runs on the calling thread only."""

    name = "lleaves"

    def __init__(
        self, model: Any, n_features: int, *, artifact: Path, from_cache: bool, compile_s: float
    ) -> None:
        self._model = model
        self.n_features = n_features
        self.artifact = artifact
        self.from_cache = from_cache
        self.compile_s = compile_s

    @classmethod
    def load(
        cls,
        model_file: str | Path,
        cache_dir: str | Path | None = None,
        *,
        options: dict[str, Any] | None = None,
    ) -> LleavesScorer:
        """Load the compiled form of ``model_file``, compiling it first when the cache has none.

        Raises ``ImportError`` when lleaves is not installed and whatever lleaves/LLVM raise when the
        model cannot be compiled; :func:`~feedmix.ranking.inference.runtime_choice.choose_runtime`
        turns both into a fallback to the native runtime.
        """
        import lleaves

        model_file = Path(model_file)
        opts = {**DEFAULT_COMPILE_OPTIONS, **(options or {})}
        identity = _compiler_identity(opts)
        directory = Path(cache_dir) if cache_dir is not None else default_cache_dir(model_file)
        directory.mkdir(parents=True, exist_ok=True)
        model_sha = file_sha256(model_file)
        final = artifact_path(directory, "lleaves", model_sha, identity, ".o")

        t0 = time.perf_counter()
        if final.exists():
            try:
                model = lleaves.Model(model_file=str(model_file))
                model.compile(cache=str(final), **opts)
                return cls(
                    model,
                    int(model.num_feature()),
                    artifact=final,
                    from_cache=True,
                    compile_s=time.perf_counter() - t0,
                )
            except Exception:  # an unreadable artifact is rebuilt, not served from
                discard(final, final.with_suffix(".json"))

        tmp = temporary_sibling(final)
        try:
            model = lleaves.Model(model_file=str(model_file))
            model.compile(cache=str(tmp), **opts)  # lleaves writes the object file while finalising
            publish(tmp, final, {**identity, "model_file": str(model_file), "model_sha256": model_sha})
        finally:
            discard(tmp)
        return cls(
            model,
            int(model.num_feature()),
            artifact=final,
            from_cache=False,
            compile_s=time.perf_counter() - t0,
        )

    def predict(self, X: FloatMatrix) -> Scores:
        X = as_feature_matrix(X, self.n_features)
        # n_jobs=1: call the compiled function directly on this thread (no per-call thread pool).
        return np.asarray(self._model.predict(X, n_jobs=1), dtype=np.float64)
