import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from feedmix.signals import metrics

labels = st.lists(st.integers(0, 3), min_size=1, max_size=60)


def test_per_label_counts_by_hand() -> None:
    gold = [0, 0, 1, 1, 2]
    pred = [0, 1, 1, 1, 0]
    t = metrics.per_label(gold, pred, ["a", "b", "c"])
    assert t["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert t["b"]["precision"] == 2 / 3 and t["b"]["recall"] == 1.0
    assert t["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics.macro_f1(t) == (0.5 + 0.8 + 0.0) / 3


def test_macro_f1_skips_labels_nobody_used() -> None:
    t = metrics.per_label([0, 0], [0, 0], ["a", "b"])
    assert metrics.macro_f1(t) == 1.0


@given(labels)
def test_a_perfect_prediction_scores_one_everywhere(gold: list[int]) -> None:
    t = metrics.per_label(gold, gold, ["a", "b", "c", "d"])
    assert metrics.macro_f1(t) == 1.0
    assert metrics.accuracy(gold, gold) == 1.0
    assert metrics.cohen_kappa(gold, gold, 4) == 1.0


@given(labels, labels)
def test_scores_stay_in_range(a: list[int], b: list[int]) -> None:
    n = min(len(a), len(b))
    t = metrics.per_label(a[:n], b[:n], ["a", "b", "c", "d"])
    assert 0.0 <= metrics.macro_f1(t) <= 1.0
    assert -1.0 <= metrics.cohen_kappa(a[:n], b[:n], 4) <= 1.0
    assert sum(map(sum, metrics.confusion(a[:n], b[:n], 4))) == n


@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50), st.lists(st.booleans(), min_size=50, max_size=50)
)
def test_ece_is_between_zero_and_one(conf: list[float], correct: list[bool]) -> None:
    assert 0.0 <= metrics.ece(conf, correct[: len(conf)]) <= 1.0


def test_ece_of_calibrated_and_overconfident_predictions() -> None:
    conf = np.full(10, 0.75)
    correct = np.array([True] * 7 + [False] * 3)
    assert abs(metrics.ece(conf, correct) - 0.05) < 1e-9
    assert metrics.ece(np.full(4, 0.95), np.zeros(4, bool)) > 0.9


def test_kappa_at_chance_is_zero() -> None:
    # rater b says 0 always; a splits evenly: agreement is exactly what chance gives
    assert metrics.cohen_kappa([0, 1, 0, 1], [0, 0, 0, 0], 2) == 0.0


def test_entity_f1_exact_and_lenient() -> None:
    gold = [["Sennheiser HD600"], ["Costco", "Nalgene"], []]
    pred = [["HD600"], ["costco"], ["Reddit"]]
    r = metrics.entity_f1(gold, pred)
    assert r["precision"] == 1 / 3 and r["recall"] == 1 / 3
    assert r["lenient_f1"] > r["f1"]
    assert r["gold_mentions"] == 3 and r["predicted_mentions"] == 3
