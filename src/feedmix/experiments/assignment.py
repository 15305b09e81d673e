"""Which experiments and variants one request is in, from hashes alone (Tang et al., KDD 2010).

The unit space of every layer is [0, 1), cut by a hash of the unit salted with the layer's name:

* a **global holdout** (a hash of the user salted apart from every layer) sees no experiment at all,
  so the sum of everything shipped can be measured against it;
* each layer starts with its own **holdout** slice, then each running experiment owns a disjoint
  slice (its *allocation*, placed when it starts), so experiments in one layer exclude each other,
  while layers, hashed with different salts, overlap independently;
* inside its slice an experiment takes the units that match its targeting and hashes them again,
  salted with its id and **bucket version**, into GrowthBook's variant ranges scaled by its
  *coverage* (:func:`feedmix.experiments.hashing.bucket_ranges`): ramping the coverage up keeps every
  unit in its variant, a new bucket version re-randomises on purpose.

:class:`Assigner` is compiled once from a snapshot of the running experiments (the hashes' seed
states, each layer's slices sorted for a binary search), so a request costs a few hash calls.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from feedmix.core.params import ParamValue
from feedmix.experiments.hashing import SeededHash, bucket_ranges, choose_variant
from feedmix.experiments.model import GLOBAL, Experiment

#: units a request is assigned by; campaign units are assigned per campaign (:meth:`Assigner.campaign_arms`)
SERVED_UNITS = ("user", "request")
#: the campaign-unit knob the ad server applies (a multiplier on the campaign's bids)
BID_MULTIPLIER = "campaign.bid_multiplier"


@dataclass(frozen=True, slots=True)
class Assignment:
    experiment_id: str
    variant: str
    layer: str
    bucket_version: int
    #: the id that was hashed (a user id, or a request id for request-unit experiments)
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment_id,
            "variant": self.variant,
            "layer": self.layer,
            "bucket_version": self.bucket_version,
        }


@dataclass(frozen=True)
class CampaignArms:
    """An ad index's campaigns in campaign-unit experiments: ``bid_multiplier`` by campaign row (1.0
    outside), ``assigned`` the assignments of each randomised campaign (both arms)."""

    bid_multiplier: np.ndarray
    assigned: Mapping[str, tuple[Assignment, ...]]


@dataclass(frozen=True)
class BudgetSplitPlan:
    """The running budget-split experiment of a surface: each arm's share of every campaign's budget (its
    share of the traffic), and the rest's, for the requests outside it."""

    experiment_id: str
    bucket_version: int
    shares: Mapping[str, float]
    rest_share: float

    def key(self, variant: str | None) -> str:
        return f"{self.experiment_id}:v{self.bucket_version}:{variant if variant is not None else 'rest'}"

    def for_assignments(self, assignments: Sequence[Assignment]) -> tuple[str, float]:
        """The budget split a request with these assignments spends from, and its share."""
        for a in assignments:
            if a.experiment_id == self.experiment_id:
                return self.key(a.variant), self.shares[a.variant]
        return self.key(None), self.rest_share


@dataclass(frozen=True)
class Visitor:
    """What targeting may know of the requester: whether the directory knows them, what they joined."""

    user_id: str
    request_id: str
    known: bool
    #: community ids the user joined (empty for an unknown user)
    communities: frozenset[int] = frozenset()
    allow_nsfw: bool = False


@dataclass(frozen=True)
class _Arm:
    """One running experiment as the assigner needs it."""

    experiment: Experiment
    start: float
    end: float
    variant_hash: SeededHash
    ranges: list[tuple[float, float]]
    communities: frozenset[int] | None

    def admits(self, v: Visitor) -> bool:
        t = self.experiment.targeting
        if (t.user == "new" and v.known) or (t.user == "returning" and not v.known):
            return False
        if t.nsfw_opt_in is not None and v.allow_nsfw != t.nsfw_opt_in:
            return False
        return self.communities is None or not self.communities.isdisjoint(v.communities)


@dataclass(frozen=True)
class _Layer:
    name: str
    unit_hash: SeededHash
    by_request: bool
    #: per surface, the layer's arms on it sorted by slice start, and those starts
    arms: Mapping[str, tuple[list[float], list[_Arm]]]


class Assigner:
    def __init__(
        self,
        experiments: Sequence[Experiment],
        holdouts: Mapping[str, float] | None = None,
        community_id: Callable[[str], int | None] | None = None,
    ) -> None:
        """Compile the running experiments (others are ignored) with the holdout shares by scope
        (``global`` or a layer name); ``community_id`` resolves targeted community names (an unknown
        name matches nobody)."""
        holdouts = dict(holdouts or {})
        self.global_holdout = float(holdouts.get(GLOBAL, 0.0))
        self._global_hash = SeededHash("feedmix-global-holdout")
        running = [
            e
            for e in experiments
            if e.status == "running" and e.unit in SERVED_UNITS and e.range_start is not None
        ]
        self.experiments = {e.experiment_id: e for e in running}
        by_layer: dict[str, list[Experiment]] = {}
        for e in running:
            by_layer.setdefault(e.layer, []).append(e)
        self._layers: list[_Layer] = []
        for name in sorted(by_layer):
            arms: dict[str, list[_Arm]] = {}
            for e in by_layer[name]:
                arm = _compile(e, community_id)
                for surface in e.surfaces:
                    arms.setdefault(surface, []).append(arm)
            sorted_arms = {s: sorted(a, key=lambda arm: arm.start) for s, a in arms.items()}
            self._layers.append(
                _Layer(
                    name=name,
                    unit_hash=SeededHash(f"feedmix-layer-{name}"),
                    by_request=by_layer[name][0].unit == "request",
                    arms={s: ([arm.start for arm in a], a) for s, a in sorted_arms.items()},
                )
            )
        self.surfaces = frozenset(s for layer in self._layers for s in layer.arms)
        # campaign-unit experiments: the ad server asks per campaign, not per request
        campaign_running = [
            e
            for e in experiments
            if e.status == "running" and e.unit == "campaign" and e.range_start is not None
        ]
        self.experiments.update({e.experiment_id: e for e in campaign_running})
        self._campaign_arms = [
            (SeededHash(f"feedmix-layer-{e.layer}"), _compile(e, community_id)) for e in campaign_running
        ]
        self.budget_splits: dict[str, BudgetSplitPlan] = {}
        for e in running:
            if e.kind != "budget_split":
                continue
            reach = e.allocation * e.coverage * (1.0 - self.global_holdout)
            shares = {v.name: v.weight * reach for v in e.variants}
            plan = BudgetSplitPlan(e.experiment_id, e.bucket_version, shares, max(0.0, 1.0 - reach))
            for surface in e.surfaces:
                self.budget_splits[surface] = plan

    def __len__(self) -> int:
        return len(self.experiments)

    def in_global_holdout(self, user_id: str) -> bool:
        return self.global_holdout > 0 and self._global_hash(user_id) < self.global_holdout

    def assign(self, surface: str, visitor: Visitor) -> list[Assignment]:
        """The request's assignments, at most one per layer, in layer-name order."""
        if surface not in self.surfaces or self.in_global_holdout(visitor.user_id):
            return []
        out: list[Assignment] = []
        for layer in self._layers:
            on_surface = layer.arms.get(surface)
            if on_surface is None:
                continue
            unit = visitor.request_id if layer.by_request else visitor.user_id
            u = layer.unit_hash(unit)
            starts, arms = on_surface
            i = bisect.bisect_right(starts, u) - 1
            if i < 0:
                continue  # in the layer's holdout or a slice no experiment on this surface owns
            arm = arms[i]
            if u >= arm.end or not arm.admits(visitor):
                continue
            k = choose_variant(arm.variant_hash(unit), arm.ranges)
            if k < 0:
                continue  # inside the reservation, outside the coverage: not in the experiment yet
            e = arm.experiment
            out.append(Assignment(e.experiment_id, e.variants[k].name, e.layer, e.bucket_version, unit))
        return out

    @property
    def has_campaign_experiments(self) -> bool:
        return bool(self._campaign_arms)

    def assign_campaign(self, campaign_id: str, surface: str | None = None) -> list[Assignment]:
        """The campaign's variants of the running campaign-unit experiments (on ``surface``, or any);
        layers exclude as for users; a campaign is never in the global holdout, a share of users."""
        out: list[Assignment] = []
        for layer_hash, arm in self._campaign_arms:
            e = arm.experiment
            if surface is not None and surface not in e.surfaces:
                continue
            u = layer_hash(campaign_id)
            if not arm.start <= u < arm.end:
                continue
            k = choose_variant(arm.variant_hash(campaign_id), arm.ranges)
            if k >= 0:
                out.append(
                    Assignment(e.experiment_id, e.variants[k].name, e.layer, e.bucket_version, campaign_id)
                )
        return out

    def campaign_arms(self, campaign_ids: Sequence[str], surface: str) -> CampaignArms:
        """Every campaign's assignments on ``surface`` and the bid multiplier they set, as columns by
        position in ``campaign_ids`` (an ad index's campaign rows): computed once per index version."""
        multiplier = np.ones(len(campaign_ids), dtype=np.float64)
        assigned: dict[str, tuple[Assignment, ...]] = {}
        for i, cid in enumerate(campaign_ids):
            found = self.assign_campaign(cid, surface)
            if not found:
                continue
            assigned[cid] = tuple(found)
            value = self.overrides(found).get(BID_MULTIPLIER)
            if value is not None:
                multiplier[i] = float(value)
        return CampaignArms(multiplier, assigned)

    def overrides(self, assignments: Sequence[Assignment]) -> dict[str, ParamValue]:
        """The params the assignments set (experiments on one surface never share a param)."""
        out: dict[str, ParamValue] = {}
        for a in assignments:
            out.update(self.experiments[a.experiment_id].variant(a.variant).overrides)
        return out


def _compile(e: Experiment, community_id: Callable[[str], int | None] | None) -> _Arm:
    assert e.range_start is not None
    communities: frozenset[int] | None = None
    if e.targeting.communities:
        ids = [community_id(c) if community_id is not None else None for c in e.targeting.communities]
        communities = frozenset(int(i) for i in ids if i is not None)
    return _Arm(
        experiment=e,
        start=e.range_start,
        end=e.range_start + e.allocation,
        variant_hash=SeededHash(f"{e.experiment_id}-v{e.bucket_version}"),
        ranges=bucket_ranges(len(e.variants), e.coverage, [v.weight for v in e.variants]),
        communities=communities,
    )


def visitor_from_profile(user_id: str, request_id: str, profile: Any | None) -> Visitor:
    """A visitor from a user directory's profile (None: a user the directory does not know)."""
    if profile is None:
        return Visitor(user_id, request_id, known=False)
    return Visitor(
        user_id,
        request_id,
        known=True,
        communities=frozenset(np.asarray(profile.communities).tolist()),
        allow_nsfw=bool(profile.allow_nsfw),
    )
