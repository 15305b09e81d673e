from pathlib import Path

import numpy as np
import scipy.sparse as sp

from feedmix.signals.linear_heads import LinearHeads, fit_heads


def _data(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    a = np.argmax(x[:, :3], axis=1).astype(np.int64)  # 3 classes, linearly separable
    b = (x[:, 3] > 0).astype(np.int64)  # 2 classes
    return x, a, b


def test_heads_learn_separable_targets_and_give_distributions() -> None:
    x, a, b = _data()
    heads = fit_heads(x, {"a": (a, ["x", "y", "z", "never"], None), "b": (b, ["no", "yes"], None)}, c=10.0)
    pred = heads.predict(x)
    assert pred["a"].shape == (300, 4) and pred["b"].shape == (300, 2)
    np.testing.assert_allclose(pred["a"].sum(axis=1), 1.0, atol=1e-5)
    assert np.mean(np.argmax(pred["a"], axis=1) == a) > 0.9
    assert np.mean(np.argmax(pred["b"], axis=1) == b) > 0.9
    assert pred["a"][:, 3].max() < 1e-6  # a class never seen is never predicted


def test_a_mask_trains_a_head_on_its_rows_only_and_sparse_input_works() -> None:
    x, a, b = _data()
    mask = b == 1
    heads = fit_heads(sp.csr_matrix(x), {"a": (a, ["x", "y", "z"], mask)}, estimator="sgd", c=1e-4)
    pred = heads.predict(sp.csr_matrix(x[mask]))["a"]
    assert np.mean(np.argmax(pred, axis=1) == a[mask]) > 0.8


def test_save_and_load_give_the_same_predictions(tmp_path: Path) -> None:
    x, a, b = _data()
    heads = fit_heads(x, {"a": (a, ["x", "y", "z"], None), "b": (b, ["no", "yes"], None)})
    heads.save(tmp_path / "h.npz")
    again = LinearHeads.load(tmp_path / "h.npz")
    assert again.classes == heads.classes and again.names == heads.names
    np.testing.assert_array_equal(again.predict(x)["a"], heads.predict(x)["a"])
