"""Campaigns for the demo, so `feedmix demo` shows ads in the feed from the first request.

Only into an empty store (an advertiser's real campaigns are never mixed with these), from the same
seeded generator the benchmarks use, with modest budgets, the generator's brand-safety tiers (a fifth
``strict``: they serve between posts the brand-safety signal rated safe) and contextual targeting on
about a third of the groups (page intents, product categories, products: the content signals).
"""

from __future__ import annotations

import dataclasses

from feedmix.ads.store.campaign_store import CampaignStore
from feedmix.ads.store.synthetic_campaigns import synthetic_snapshot
from feedmix.corpus.reddit_corpus import RedditCorpus


def seed_demo_campaigns(store: CampaignStore, corpus: RedditCorpus, now: float, n_groups: int = 60) -> int:
    """Create demo advertisers, campaigns, ad groups and ads; returns the ad groups created (0 if
    the store already has advertisers)."""
    if store.list_advertisers():
        return 0
    snapshot = synthetic_snapshot(
        n_groups, corpus.communities, now=now, seed=7, daily_budget_usd=50.0, contextual_share=0.3
    )
    # the store makes the ids (as for any advertiser): the generator's short ids ("a12") are not
    # used, so no demo id can be mistaken for a post id
    advertisers: dict[str, str] = {}
    campaigns: dict[str, str] = {}
    for campaign, group, ads in snapshot:
        if campaign.advertiser_id not in advertisers:
            made, _key = store.create_advertiser(f"demo advertiser {len(advertisers) + 1}")
            advertisers[campaign.advertiser_id] = made.advertiser_id
        if campaign.campaign_id not in campaigns:
            owner = advertisers[campaign.advertiser_id]
            fresh = dataclasses.replace(campaign, campaign_id="", advertiser_id=owner)
            created = store.create_campaign(fresh)
            campaigns[campaign.campaign_id] = created.campaign_id
        made_group = store.create_ad_group(
            dataclasses.replace(group, ad_group_id="", campaign_id=campaigns[campaign.campaign_id])
        )
        for ad in ads:
            headline = f"Sponsored: {group.name.replace('ad group', 'offer')}"
            body = "A demo ad, served by the auction."
            store.create_ad(
                dataclasses.replace(
                    ad, ad_id="", ad_group_id=made_group.ad_group_id, headline=headline, body=body
                )
            )
    return len(snapshot)
