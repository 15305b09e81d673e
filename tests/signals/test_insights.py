import numpy as np
import pytest

from feedmix.signals.insights import community_insights
from feedmix.signals.post_signal_table import PostSignalTable

DAY = 86_400.0


def test_mix_and_top_products_per_period_newest_first() -> None:
    table = PostSignalTable.empty(6)
    table.intent[:] = [1, 1, 0, 5, -1, 3]  # request, request, review, none, unlabelled, comparison
    table.category[:] = [1, 1, 1, -1, -1, 0]
    table.products[0] = ("nvidia",)
    table.products[1] = ("nvidia", "amd")
    table.products[5] = ("amd",)
    created = np.array([0, 1, 2, 40, 41, 45], dtype=np.float64) * DAY
    out = community_insights(table, np.arange(6), created, "month", top=5)
    assert out["labelled_posts"] == 5
    newest, oldest = out["periods"]
    assert newest["posts"] == 2 and newest["intents"] == {"none": 1, "comparison": 1}
    assert newest["top_products"] == [{"name": "amd", "posts": 1}]
    assert oldest["intents"] == {"review": 1, "recommendation_request": 2}
    assert oldest["categories"] == {"Computers": 3}
    assert oldest["top_products"][0] == {"name": "nvidia", "posts": 2}


def test_an_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        community_insights(PostSignalTable.empty(1), np.arange(1), np.zeros(1), "fortnight")
