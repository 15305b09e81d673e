"""Ads: advertisers, campaigns, ad groups and ads; targeting, pCTR, auction, pacing, frequency caps,
and the blender that puts the winners into feeds."""
