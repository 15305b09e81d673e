import numpy as np
import pytest

from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.contract import check_labeler
from feedmix.signals.posts import Posts
from feedmix.signals.rules_labeler import RulesLabeler


@pytest.fixture(scope="module")
def labeler() -> RulesLabeler:
    return RulesLabeler()


def _one(
    labeler: RulesLabeler, title: str, subreddit: str = "AskReddit", selftext: str = "", nsfw: bool = False
):
    posts = Posts.from_records(
        [{"id": "p", "subreddit": subreddit, "title": title, "selftext": selftext, "over_18": nsfw}]
    )
    return labeler.label(posts).records()[0]


def test_it_keeps_the_labeller_contract(labeler: RulesLabeler) -> None:
    check_labeler(labeler)


def test_the_codebooks_examples(labeler: RulesLabeler) -> None:
    assert _one(labeler, "Looking for a durable backpack under $100", "BuyItForLife")["intent"] == (
        "recommendation_request"
    )
    assert _one(labeler, "What laptop should I buy for college?", "SuggestALaptop")["intent"] == (
        "recommendation_request"
    )
    assert _one(labeler, "HD600 vs DT880?", "headphones")["intent"] == "comparison"
    review = _one(labeler, "My thoughts on the Sennheiser HD600 after a month", "headphones")
    assert review["intent"] == "review"
    assert review["commercial"] and review["category"] == "Electronics"
    assert any(p["text"] == "Sennheiser HD600" and p["brand"] == "Sennheiser" for p in review["products"])
    assert _one(labeler, "PSA: Costco takes back anything, even after a year", "Frugal")["intent"] == (
        "recommendation"
    )
    assert _one(labeler, "How do I fix a leaking faucet?", "HomeImprovement")["intent"] == "question"
    assert _one(labeler, "My cat sleeping in the sun", "aww")["intent"] == "none"


def test_product_spans_index_the_text(labeler: RulesLabeler) -> None:
    title, body = "Upgrade advice", "Thinking of moving from my Galaxy S4 to an iPhone 5s."
    rec = _one(labeler, title, "Android", body)
    text = f"{title}\n\n{body}"
    assert rec["products"]
    for p in rec["products"]:
        assert text[p["start"] : p["end"]] == p["text"]


def test_sentiment_follows_the_words(labeler: RulesLabeler) -> None:
    assert _one(labeler, "I love these boots, best purchase ever")["sentiment"] == "positive"
    assert _one(labeler, "The zipper broke in a week, terrible jacket, awful")["sentiment"] == "negative"
    assert _one(labeler, "Jacket on a chair")["sentiment"] == "neutral"


def test_brand_safety_tiers_and_reasons(labeler: RulesLabeler) -> None:
    nsfw = _one(labeler, "Beach day", "pics", nsfw=True)
    assert (nsfw["brand_safety"], nsfw["brand_safety_reason"]) == ("unsafe", "nsfw")
    guns = _one(labeler, "My new rifle for the range", "guns")
    assert (guns["brand_safety"], guns["brand_safety_reason"]) == ("sensitive", "weapons")
    tragedy = _one(labeler, "Hundreds killed in earthquake, victims still missing", "worldnews")
    assert (tragedy["brand_safety"], tragedy["brand_safety_reason"]) == ("unsafe", "tragedy")
    assert _one(labeler, "My cat sleeping in the sun", "aww")["brand_safety"] == "safe"


@pytest.mark.parametrize(
    ("title", "gate"),
    [("", "empty"), ("😂😂😂", "emoji_only"), ("Это мой новый телефон, что вы думаете", "non_english")],
)
def test_posts_no_model_should_judge_get_the_abstention(labeler: RulesLabeler, title: str, gate: str) -> None:
    rec = _one(labeler, title)
    assert rec["gate"] == gate
    assert rec["intent"] == "none" and rec["commercial"] is False and rec["products"] == []
    assert max(rec["intent_probs"].values()) < 0.8


def test_a_huge_markdown_post_is_labelled_from_its_first_forty_thousand_characters(
    labeler: RulesLabeler,
) -> None:
    body = "**Review** of my [Sennheiser HD600](http://x.y) after a year. <br> " * 1200
    rec = _one(labeler, "Long post", "headphones", body)
    assert rec["gate"] == "too_long"
    assert all(p["end"] <= 40_000 for p in rec["products"])
    assert rec["commercial"]


def test_probabilities_are_distributions(labeler: RulesLabeler) -> None:
    posts = Posts.from_records(
        [
            {"id": str(i), "subreddit": s, "title": t}
            for i, (s, t) in enumerate([("pics", "A"), ("buildapc", "GPU?")])
        ]
    )
    sig = labeler.label(posts)
    for m, width in (
        (sig.intent_probs, len(INTENTS)),
        (sig.sentiment_probs, len(SENTIMENTS)),
        (sig.category_probs, len(CATEGORIES)),
        (sig.safety_probs, len(BRAND_SAFETY)),
    ):
        assert m.shape == (2, width)
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)


def test_a_brand_and_its_model_are_one_mention(labeler: RulesLabeler) -> None:
    rec = _one(labeler, "Sennheiser HD600 or Galaxy S4 case?", "headphones")
    assert [p["text"] for p in rec["products"]] == ["Sennheiser HD600", "Galaxy S4"]
