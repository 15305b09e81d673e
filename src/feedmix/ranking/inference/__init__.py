"""Tree-model inference for the ranker: one batch per call, one thread per call, native or compiled.

``TreeScorer`` is the interface; ``NativeLightGBMScorer`` (LightGBM itself) is the reference and the
fallback; ``LleavesScorer`` is LightGBM compiled to machine code by lleaves/LLVM, cached next to the
model. ``choose_runtime`` picks, per model, the fastest runtime whose scores match native, and
``MultiHeadScorer`` serves every head of the multi-task ranker over one feature matrix.
``feedmix bench ranking`` (:mod:`feedmix.bench.ranking`) measures them.
"""

from feedmix.ranking.inference.lleaves_scorer import LleavesScorer
from feedmix.ranking.inference.multi_head_scorer import MultiHeadScorer
from feedmix.ranking.inference.native_scorer import NativeLightGBMScorer
from feedmix.ranking.inference.runtime_choice import (
    COMPILED_RUNTIMES,
    DEFAULT_TOLERANCE,
    ScorerFactory,
    check_agreement,
    choose_runtime,
)
from feedmix.ranking.inference.tree_scorer import TreeScorer, as_feature_matrix

__all__ = [
    "COMPILED_RUNTIMES",
    "DEFAULT_TOLERANCE",
    "LleavesScorer",
    "MultiHeadScorer",
    "NativeLightGBMScorer",
    "ScorerFactory",
    "TreeScorer",
    "as_feature_matrix",
    "check_agreement",
    "choose_runtime",
]
