"""The teacher and the student as labellers: the gate answers what no model should judge, a featurizer
and the linear heads label the rest, the NSFW flag overrides brand safety (the codebook additions make a
flagged post unsafe whatever its words), and products come from the gazetteer extended with the names the
judge found in the training pool."""

from __future__ import annotations

import numpy as np

from feedmix.signals import gate
from feedmix.signals.featurizers import Featurizer
from feedmix.signals.lexicons.brand_gazetteer import BrandGazetteer
from feedmix.signals.linear_heads import LinearHeads
from feedmix.signals.model_input import model_texts
from feedmix.signals.post_signals import PostSignals, ProductMentions, abstention, assemble
from feedmix.signals.posts import Posts
from feedmix.signals.training_targets import probs_from_heads


class TrainedLabeler:
    def __init__(
        self,
        name: str,
        tier: int,
        version: str,
        featurizer: Featurizer,
        heads: LinearHeads,
        gazetteer: BrandGazetteer,
    ) -> None:
        self.name = name
        self.tier = tier
        self._version = version
        self.featurizer = featurizer
        self.heads = heads
        self.gazetteer = gazetteer

    @property
    def version(self) -> str:
        return self._version

    def label(self, posts: Posts) -> PostSignals:
        n = len(posts)
        raw = posts.texts()
        statuses = [gate.status(t) for t in raw]
        probs = abstention(n)
        reasons: list[str | None] = [None] * n
        rows = [i for i, st in enumerate(statuses) if st not in gate.ABSTAIN]
        if rows:
            judged = posts.take(rows)
            pred = self.heads.predict(self.featurizer.transform(judged, model_texts(judged)))
            got, got_reasons = probs_from_heads(pred)
            for key, values in got.items():
                probs[key][rows] = values
            for j, i in enumerate(rows):
                reasons[i] = got_reasons[j]
        flagged = np.flatnonzero(posts.over_18)
        probs["safety_probs"][flagged] = (0.02, 0.03, 0.95)
        for row in flagged.tolist():
            reasons[row] = "nsfw"
        products = ProductMentions(n)
        ok = set(rows)
        for i in range(n):
            found = self.gazetteer.find(gate.model_text(raw[i])) if i in ok else []
            products.add(i, ((m.start, m.end, m.text, m.brand) for m in found))
        return assemble(posts.ids, probs, reasons, statuses, self.version, products)
