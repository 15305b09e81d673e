"""Campaign-unit experiments: campaigns randomised by hash, their rules, and their analysis on the ad
log's outcomes per campaign (the service's path is in ``test_campaign_unit_service``)."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.core.params import ParamRegistry, ParamSpec
from feedmix.experiments import rules
from feedmix.experiments.analysis import analyze
from feedmix.experiments.assignment import BID_MULTIPLIER, Assigner, Visitor
from feedmix.experiments.exposure import Exposure
from feedmix.experiments.model import ExperimentError, Targeting
from tests.experiments.factories import make_experiment

T0 = 1_700_000_000.0
REGISTRY = ParamRegistry([ParamSpec("ranker.w_hide", float, 1.0, "hide weight", min=0, max=10)])


def _campaign_experiment(multiplier: float = 2.0, **kw: object) -> object:
    exp = make_experiment("auto-bid", {BID_MULTIPLIER: multiplier}, unit="campaign", layer="ads", **kw)  # type: ignore[arg-type]
    return exp.replace(primary_metric="ad_revenue_per_campaign", guardrails=("ad_ctr",))


def _params_of(surface: str) -> ParamRegistry | None:
    return REGISTRY if surface == "home" else None


def test_a_campaign_experiment_changes_campaign_knobs_only_and_measures_campaigns() -> None:
    ok = _campaign_experiment()
    rules.check_new(ok, _params_of)  # type: ignore[arg-type]
    for bad, field in (
        (ok.replace(kind="budget_split"), "kind"),  # type: ignore[attr-defined]
        (ok.replace(targeting=Targeting(user="new")), "targeting"),  # type: ignore[attr-defined]
        (_campaign_experiment(9.0), f"variants[1].overrides.{BID_MULTIPLIER}"),
        (
            make_experiment("x", {"ranker.w_hide": 2.0}, unit="campaign").replace(
                primary_metric="ad_ctr", guardrails=()
            ),
            "variants[1].overrides.ranker.w_hide",
        ),
        (ok.replace(primary_metric="clicks_per_user"), "primary_metric"),  # type: ignore[attr-defined]
        (ok.replace(guardrails=("ad_ctr", "hides_per_user")), "guardrails[1]"),  # type: ignore[attr-defined]
    ):
        with pytest.raises(ExperimentError) as err:
            rules.check_new(bad, _params_of)  # type: ignore[arg-type]
        assert err.value.field == field, (field, err.value)


def test_campaigns_split_by_hash_stably_and_only_on_the_experiments_surfaces() -> None:
    running = rules.start(_campaign_experiment(allocation=0.8), [], {}, now=1.0)  # type: ignore[arg-type]
    assigner = Assigner([running])
    assert assigner.has_campaign_experiments and not Assigner([]).has_campaign_experiments
    ids = [f"camp-{i}" for i in range(4000)]
    got = {c: assigner.assign_campaign(c) for c in ids}
    assert got == {c: assigner.assign_campaign(c) for c in ids}  # deterministic
    inside = [a for found in got.values() for a in found]
    assert all(a.unit in got and a.experiment_id == "auto-bid" for a in inside)
    # 80% of the campaigns enter, split evenly between the arms (binomial bounds, 5 sigma)
    assert abs(len(inside) - 3200) < 5 * np.sqrt(4000 * 0.8 * 0.2)
    treated = sum(a.variant == "treatment" for a in inside)
    assert abs(treated - len(inside) / 2) < 5 * np.sqrt(len(inside) / 4)
    # users' requests never see it, and another surface's auctions do not
    assert assigner.assign("home", Visitor("u1", "r1", known=True)) == []
    assert assigner.assign_campaign("camp-1", "community") == []

    arms = assigner.campaign_arms(ids[:300], "home")
    for i, c in enumerate(ids[:300]):
        found = got[c]
        want = 2.0 if found and found[0].variant == "treatment" else 1.0
        assert arms.bid_multiplier[i] == want and (c in arms.assigned) == bool(found)
    assert not assigner.campaign_arms(ids[:300], "community").assigned


def _exposure(campaign: str, variant: str, ts: float) -> Exposure:
    return Exposure(
        event_id=f"x-{campaign}",
        experiment="auto-bid",
        variant=variant,
        bucket_version=1,
        unit=campaign,
        user_id="u1",
        request_id=f"r-{campaign}",
        surface="home",
        ts=ts,
    )


def test_the_analysis_counts_each_campaigns_ad_outcomes_after_its_exposure() -> None:
    exp = rules.start(_campaign_experiment(), [], {}, now=T0)  # type: ignore[arg-type]
    exp = exp.replace(period_start_ts=T0, start_ts=T0)
    rng = np.random.default_rng(3)
    exposures, outcomes = [], []
    for i in range(400):
        campaign, treated = f"c{i}", i % 2 == 1
        first = T0 + rng.uniform(0, 600)
        exposures.append(_exposure(campaign, "treatment" if treated else "control", first))
        # the treatment's higher bids win it more impressions, each billed $2 CPM
        for k in range(int(rng.poisson(30 if treated else 20))):
            outcomes.append((campaign, "impression", first + 1 + k, 2_000))
        for k in range(int(rng.poisson(3 if treated else 2))):
            outcomes.append((campaign, "click", first + 2 + k, 0))
        outcomes.append((campaign, "impression", first - 100.0, 1_000_000))  # before exposure: no outcome
    outcomes.append(("never-exposed", "impression", T0 + 10, 5_000_000))
    # users' events do not count towards a campaign experiment
    report = analyze(exp, exposures, (), now=T0 + 7200, ad_outcomes=outcomes)  # type: ignore[arg-type]
    rows = {m["metric"]: m for m in report["metrics"]}
    assert set(rows) == {"ad_revenue_per_campaign", "ad_clicks_per_campaign", "ad_ctr"}
    revenue = rows["ad_revenue_per_campaign"]
    assert revenue["arms"]["control"]["units"] == revenue["arms"]["treatment"]["units"] == 200
    # $2 CPM = 2,000 micro-dollars an impression = 2 in USD x 1000: 20 and 30 impressions a campaign
    assert revenue["arms"]["control"]["value"] == pytest.approx(40.0, rel=0.1)
    assert revenue["arms"]["treatment"]["value"] == pytest.approx(60.0, rel=0.1)
    cmp = revenue["comparisons"]["treatment"]
    assert cmp["ci_low"] > 0 and cmp["significant"]
    ctr = rows["ad_ctr"]["arms"]
    assert ctr["control"]["value"] == pytest.approx(0.1, rel=0.2)
    assert ctr["treatment"]["value"] == pytest.approx(0.1, rel=0.2)
