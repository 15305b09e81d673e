import numpy as np

from feedmix.ranking.ranker_features import SIGNAL_FEATURES, ranker_feature_names, signal_features
from feedmix.signals.post_signal_table import PostSignalTable


def test_codes_become_floats_and_unlabelled_is_nan() -> None:
    table = PostSignalTable.empty(4)
    table.intent[:3] = [0, 3, 5]
    table.sentiment[:3] = [0, 1, 2]
    table.category[:3] = [1, -1, 13]
    table.safety[:3] = [0, 2, 1]
    table.products[0] = ("sennheiser", "hd600")
    cols = signal_features(table, np.array([0, 1, 3, 2]))
    assert set(cols) == set(SIGNAL_FEATURES)
    np.testing.assert_array_equal(cols["sig.intent"][:2], [0, 3])
    assert np.isnan(cols["sig.intent"][2]) and np.isnan(cols["sig.commercial"][2])  # row 3: not labelled
    np.testing.assert_array_equal(cols["sig.commercial"][[0, 1, 3]], [1, 0, 1])
    assert np.isnan(cols["sig.category"][1])  # not commercial: no category
    assert cols["sig.products"][0] == 2
    assert all(v.dtype == np.float32 for v in cols.values())


def test_without_a_table_every_column_is_nan_and_the_ranker_lists_them() -> None:
    cols = signal_features(None, np.arange(5))
    assert all(np.isnan(v).all() for v in cols.values())
    assert set(SIGNAL_FEATURES) <= set(ranker_feature_names())
