"""Tier 0: rules and lexicons. Always available (no model file), explainable (every score is a sum of
named pattern weights), and the floor the trained tiers must beat.

Intent sums the weights of the codebook phrases a post matches (``lexicons/intent_patterns.py``), with
the title counting fully and the selftext half, and turns the sums into probabilities by a softmax.
Products come from the brand gazetteer; the category is a vote of the products' categories, the
community's and generic nouns'; sentiment is VADER's lexicon score; brand safety is the NSFW flag, then
the strongest reason among the post's words and its community.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.signals import gate
from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, UNSAFE_REASONS, reason_tier
from feedmix.signals.lexicons.brand_gazetteer import BrandGazetteer, Mention, default_gazetteer
from feedmix.signals.lexicons.category_terms import CATEGORY_TERMS
from feedmix.signals.lexicons.communities import COMMUNITY_CATEGORY, COMMUNITY_SAFETY
from feedmix.signals.lexicons.intent_patterns import INTENT_PATTERNS
from feedmix.signals.lexicons.safety_terms import SAFETY_TERMS
from feedmix.signals.post_signals import PostSignals, ProductMentions, abstention, assemble
from feedmix.signals.posts import Posts

_NONE = INTENTS.index("none")
_OTHER = CATEGORIES.index("Other")
_CAT = {c: i for i, c in enumerate(CATEGORIES)}
#: VADER reads word by word in Python: its cost grows with the text, and the opening says the sentiment
_VADER_CHARS = 1000
_INTENT_INDEX = {c: i for i, c in enumerate(INTENTS)}
_REVIEW, _REQUEST, _RECO, _COMPARE, _QUESTION = range(5)


@dataclass(frozen=True)
class RulesParams:
    """The weights the tuning part of the dev set chose (``feedmix signals eval --split tuning``)."""

    none_bias: float = 1.4
    temperature: float = 0.9
    selftext_weight: float = 0.5
    #: what a named product adds to the product intents, and a commercial community to asking for one
    product_boost: float = 0.5
    community_request_boost: float = 0.3
    precedence_at: float = 1.5
    precedence_damping: float = 0.3
    commercial_bias: float = -2.2
    commercial_mention: float = 2.6
    commercial_community: float = 1.1
    commercial_intent: float = 1.6
    commercial_term: float = 0.4
    sentiment_positive: float = 0.35
    sentiment_negative: float = -0.3
    sentiment_scale: float = 6.0


def _softmax(x: npt.NDArray[np.float64], t: float) -> npt.NDArray[np.float64]:
    z = np.exp((x - x.max()) / t)
    return np.asarray(z / z.sum(), dtype=np.float64)


class RulesLabeler:
    name = "rules"
    tier = 0

    def __init__(self, gazetteer: BrandGazetteer | None = None, params: RulesParams | None = None) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self.gazetteer = gazetteer if gazetteer is not None else default_gazetteer()
        self.params = params or RulesParams()
        self._vader = SentimentIntensityAnalyzer()

    @property
    def version(self) -> str:
        return f"rules-0.1.0+g{len(self.gazetteer)}"

    def label(self, posts: Posts) -> PostSignals:
        n = len(posts)
        probs = abstention(n)
        reasons: list[str | None] = [None] * n
        statuses: list[str] = []
        products = ProductMentions(n)
        for i in range(n):
            raw = posts.text(i)
            st = gate.status(raw)
            statuses.append(st)
            mentions: list[Mention] = []
            if st not in gate.ABSTAIN:
                text = gate.model_text(raw)
                mentions = self.gazetteer.find(text)
                self._label_one(posts, i, text, mentions, probs)
            if posts.over_18[i] or st not in gate.ABSTAIN:
                reasons[i] = self._safety(posts, i, gate.model_text(raw), probs)
            products.add(i, ((m.start, m.end, m.text, m.brand) for m in mentions))
        return assemble(posts.ids, probs, reasons, statuses, self.version, products)

    # -- one post --------------------------------------------------------------------------------

    def _label_one(
        self, posts: Posts, i: int, text: str, mentions: list[Mention], probs: dict[str, np.ndarray]
    ) -> None:
        p = self.params
        title, body = posts.title[i], text[len(posts.title[i]) :]
        community = posts.subreddit[i].lower()
        community_cat = COMMUNITY_CATEGORY.get(community)
        scores = np.zeros(len(INTENTS))
        scores[_NONE] = p.none_bias
        for intent_name, patterns in INTENT_PATTERNS.items():
            k_index = _INTENT_INDEX[intent_name]
            for pattern, weight in patterns:
                if pattern.search(title):
                    scores[k_index] += weight
                elif body and pattern.search(body):
                    scores[k_index] += weight * p.selftext_weight
        distinct = {m.brand for m in mentions}
        if mentions:
            scores[[_REVIEW, _RECO]] += p.product_boost
        if len(distinct) >= 2:
            scores[_COMPARE] += p.product_boost
        elif scores[_COMPARE] > 0 and not mentions:
            scores[_COMPARE] *= (
                0.5  # "X vs Y" about no product is usually a fight or a match, not a comparison
            )
        if community_cat is not None:
            scores[_REQUEST] += p.community_request_boost
        # the codebook's precedence: a comparison wins over a question and a request; asking what to buy
        # is a request, not a question, however it is phrased
        if scores[_COMPARE] >= p.precedence_at:
            scores[[_QUESTION, _REQUEST]] *= p.precedence_damping
        if scores[_REQUEST] >= p.precedence_at:
            scores[_QUESTION] *= p.precedence_damping
        intent = _softmax(scores, p.temperature)
        probs["intent_probs"][i] = intent

        # commercial: a product named, a shopping community, a buying intent, a product noun
        cat_votes = np.zeros(len(CATEGORIES))
        for j, m in enumerate(mentions):
            cat_votes[_CAT[m.category]] += 3.0 if j == 0 else 1.5
        if community_cat is not None:
            cat_votes[_CAT[community_cat]] += 1.5
        term_hits = 0
        for cat, pattern in CATEGORY_TERMS.items():
            hits = len(pattern.findall(text))
            if hits:
                cat_votes[_CAT[cat]] += min(hits, 3) * 0.8
                term_hits += hits
        commercial_intent = float(intent[[_REVIEW, _REQUEST, _RECO, _COMPARE]].sum())
        logit = (
            p.commercial_bias
            + p.commercial_mention * bool(mentions)
            + p.commercial_community * (community_cat is not None)
            + p.commercial_intent * commercial_intent
            + p.commercial_term * min(term_hits, 3)
        )
        probs["commercial_prob"][i] = 1.0 / (1.0 + math.exp(-logit))
        if cat_votes.sum() == 0:
            cat_votes[_OTHER] = 1.0
        probs["category_probs"][i] = _softmax(cat_votes, 1.0)

        compound = self._vader.polarity_scores(gate.clean(text[:_VADER_CHARS]))["compound"]
        s = p.sentiment_scale
        logits = np.array([s * (compound - p.sentiment_positive), s * (p.sentiment_negative - compound), 0.0])
        probs["sentiment_probs"][i] = _softmax(logits, 1.0)

    def _safety(self, posts: Posts, i: int, text: str, probs: dict[str, np.ndarray]) -> str | None:
        """The reason (``None``: safe), with the tier probabilities set to match."""
        if posts.over_18[i]:
            probs["safety_probs"][i] = (0.02, 0.03, 0.95)
            return "nsfw"
        counts = {reason: len(pattern.findall(text)) for reason, pattern in SAFETY_TERMS.items()}
        prior = COMMUNITY_SAFETY.get(posts.subreddit[i].lower())
        if prior is not None:
            counts[prior] = counts.get(prior, 0) + 1
        hit = [r for r, c in counts.items() if c > 0]
        if not hit:
            probs["safety_probs"][i] = (0.85, 0.12, 0.03)
            return None
        unsafe = [r for r in hit if r in UNSAFE_REASONS]
        reason = max(unsafe or hit, key=lambda r: counts[r])
        strength = min(counts[reason], 3)
        if reason_tier(reason) == "unsafe":
            sure = 0.5 + 0.15 * strength
            probs["safety_probs"][i] = ((1 - sure) * 0.4, (1 - sure) * 0.6, sure)
        else:
            sure = 0.5 + 0.15 * strength
            probs["safety_probs"][i] = ((1 - sure) * 0.8, sure, (1 - sure) * 0.2)
        assert BRAND_SAFETY == ("safe", "sensitive", "unsafe")
        return reason
