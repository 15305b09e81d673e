import numpy as np

from feedmix.features.signal_definitions import brand_key, signal_registry
from feedmix.signals.contract import HOSTILE_POSTS
from feedmix.signals.online_signals import feature_columns, rows_to_write
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler


def test_every_registered_feature_is_written_with_its_dtype() -> None:
    sig = RulesLabeler().label(Posts.from_records(HOSTILE_POSTS))
    cols = feature_columns(sig)
    registry = signal_registry()
    assert set(cols) == {d.name for d in registry.by_entity("post_signals")}
    for d in registry.by_entity("post_signals"):
        assert cols[d.name].dtype == d.np_dtype, d.name
        assert len(cols[d.name]) == len(sig)


def test_the_first_mention_gives_the_brand_key() -> None:
    sig = RulesLabeler().label(Posts.from_records(HOSTILE_POSTS))
    cols = feature_columns(sig)
    first = sig.products_of(0)[0]
    assert first["brand"] == "Sennheiser" and cols["brand_key"][0] == brand_key("sennheiser ")
    assert cols["brand_key"][2] == 0 and cols["product_count"][2] == 0  # the empty post


def test_a_failed_model_row_is_not_written() -> None:
    sig = RulesLabeler().label(Posts.from_records(HOSTILE_POSTS))
    sig.gate[1] = "error"
    keep = rows_to_write(sig)
    assert keep.tolist() == [True, False] + [True] * (len(sig) - 2)
    assert np.isnan(feature_columns(sig)["commercial_prob"][1])
