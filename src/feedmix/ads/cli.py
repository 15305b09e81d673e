"""``feedmix ads ...``: ad serving tools (a simulated day, pCTR training); each module owns its options."""

from __future__ import annotations

from typing import Any

from feedmix.command_forwarding import forward as _forward


def register(sub: Any) -> None:
    p = sub.add_parser("ads", help="ad serving tools: simulate a day, train pCTR from the ad log")
    asub = p.add_subparsers(dest="ads", required=True)
    _forward(
        asub,
        "simulate",
        "a simulated day of ad traffic: delivery against budget, pacing curves, ad load vs engagement",
        "feedmix.ads.simulation.ads_simulation",
    )
    _forward(
        asub,
        "train-pctr",
        "train the position-aware pCTR model from the service's ad log",
        "feedmix.ads.pctr.pctr_training",
    )
