from pathlib import Path

import numpy as np
import pytest

from feedmix.signals.contract import HOSTILE_POSTS
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler
from feedmix.signals.signal_archive import SignalArchive, corpus_digest


def test_values_round_trip_through_parquet(tmp_path: Path) -> None:
    posts = Posts.from_records(HOSTILE_POSTS)
    sig = RulesLabeler().label(posts)
    archive = SignalArchive(tmp_path, "rules", sig.model_version)
    archive.write(0, sig.__class__(**{**sig.__dict__}))
    back = archive.read()
    assert back.ids == sig.ids and back.gate == sig.gate and back.safety_reason == sig.safety_reason
    np.testing.assert_allclose(back.intent_probs, sig.intent_probs)
    np.testing.assert_allclose(back.category_probs, sig.category_probs)
    assert [back.products_of(i) for i in range(len(sig))] == [sig.products_of(i) for i in range(len(sig))]
    assert back.model_version == sig.model_version


def test_a_run_with_another_layout_is_refused(tmp_path: Path) -> None:
    archive = SignalArchive(tmp_path, "rules", "v1")
    archive.open_run(100, 1000, corpus_digest(["a", "b"]))
    archive.open_run(100, 1000, corpus_digest(["a", "b"]))  # the same run resumes
    with pytest.raises(ValueError, match="shard-size"):
        archive.open_run(50, 1000, corpus_digest(["a", "b"]))
    with pytest.raises(ValueError, match="another run"):
        archive.open_run(100, 1000, corpus_digest(["b", "a"]))
