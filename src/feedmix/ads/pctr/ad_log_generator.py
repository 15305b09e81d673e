"""A synthetic, documented ad impression/click log with a known ground truth.

Until ``feedmix ads simulate`` logs real impressions through the tracking endpoints, the pCTR
trainer needs data whose answer is known. Each logged impression is one ad group shown at one
slot position on one page; the click is drawn from

    P(click) = examine(position) * sigmoid(base + q_group + q_campaign + w_match * community_match
                                          + w_kw * keyword_overlap)

* ``examine(position) = 1 / (1 + position) ** position_decay``: the position bias. Position 0 is the
  top ad slot of the page; users look at lower slots less, whatever the ad.
* ``q_group ~ N(0, 0.5)``, ``q_campaign ~ N(0, 0.3)``: the ad's own appeal, which the model can
  learn only from each ad group's / campaign's history (smoothed historical CTR).
* ``community_match``: the page's community is one the ad group targets explicitly (0/1);
  ``keyword_overlap``: page title tokens among the ad group's keywords (0, 1, 2...).

Which ad lands at which position is random here (uniform positions), the way an exploration
bucket would log it, so position and relevance are not confounded. The output is a plain table of
columns (``dict[str, np.ndarray]``), the same shape the tracking endpoints' log will be turned
into, so the trainer does not care which source it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.ads.store.model import Ad, AdGroup, Campaign

#: the columns :func:`generate_ad_log` writes and :mod:`feedmix.ads.pctr.pctr_model` reads
LOG_COLUMNS = ("ad_group_id", "campaign_id", "position", "community_match", "keyword_overlap", "clicked")


@dataclass(frozen=True)
class GroundTruth:
    """The parameters the log was drawn from (tests check the model recovers their ordering)."""

    base_logit: float
    w_match: float
    w_keyword: float
    position_decay: float
    group_effect: dict[str, float]
    campaign_effect: dict[str, float]

    def examine(self, position: npt.NDArray[np.int64] | int) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = (
            1.0 / (1.0 + np.asarray(position, dtype=np.float64)) ** self.position_decay
        )
        return out

    def ctr(
        self,
        ad_group_ids: Sequence[str] | npt.NDArray[np.str_],
        campaign_ids: Sequence[str] | npt.NDArray[np.str_],
        position: npt.NDArray[np.int64],
        community_match: npt.NDArray[np.float64],
        keyword_overlap: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        q = np.array([self.group_effect.get(str(g), 0.0) for g in ad_group_ids]) + np.array(
            [self.campaign_effect.get(str(c), 0.0) for c in campaign_ids]
        )
        z = self.base_logit + q + self.w_match * community_match + self.w_keyword * keyword_overlap
        out: npt.NDArray[np.float64] = self.examine(position) / (1.0 + np.exp(-z))
        return out


def generate_ad_log(
    snapshot: Sequence[tuple[Campaign, AdGroup, Sequence[Ad]]],
    n_impressions: int,
    *,
    seed: int = 0,
    n_positions: int = 4,
    base_logit: float = -4.0,
    w_match: float = 1.0,
    w_keyword: float = 0.4,
    position_decay: float = 0.8,
) -> tuple[dict[str, npt.NDArray[np.generic]], GroundTruth]:
    """``n_impressions`` logged impressions over ``snapshot``'s ad groups and their ground truth."""
    rng = np.random.default_rng(seed)
    groups = [g for _, g, _ in snapshot]
    if not groups:
        raise ValueError("empty snapshot")
    group_ids = np.array([g.ad_group_id for g in groups])
    campaign_ids = np.array([g.campaign_id for g in groups])
    truth = GroundTruth(
        base_logit=base_logit,
        w_match=w_match,
        w_keyword=w_keyword,
        position_decay=position_decay,
        group_effect={g: float(v) for g, v in zip(group_ids, rng.normal(0.0, 0.5, len(groups)), strict=True)},
        campaign_effect={c: float(rng.normal(0.0, 0.3)) for c in dict.fromkeys(campaign_ids.tolist())},
    )
    pick = rng.integers(0, len(groups), size=n_impressions)
    targets_any = np.array([bool(g.targeting.communities) for g in groups])[pick]
    has_keywords = np.array([len(g.targeting.keywords) for g in groups])[pick]
    # an ad that targets communities lands on one of them most of the time (that is what targeting
    # does); an untargeted ad never "matches"
    match = (targets_any & (rng.random(n_impressions) < 0.7)).astype(np.float64)
    overlap = np.minimum(rng.poisson(0.6, n_impressions), has_keywords).astype(np.float64)
    position = rng.integers(0, n_positions, size=n_impressions).astype(np.int64)
    ctr = truth.ctr(group_ids[pick], campaign_ids[pick], position, match, overlap)
    clicked = (rng.random(n_impressions) < ctr).astype(np.int8)
    log: dict[str, npt.NDArray[np.generic]] = {
        "ad_group_id": group_ids[pick],
        "campaign_id": campaign_ids[pick],
        "position": position,
        "community_match": match,
        "keyword_overlap": overlap,
        "clicked": clicked,
    }
    return log, truth
