"""Simulated users: a seeded population, a click/vote/hide model and an HTTP driver.

The simulator closes the loop for offline experiments: users generated from the real 2013
subscriber counts read the feed over the public API and send events back through the same
ingestion path as real clients, so whatever the server learns from it is learned the real way.
"""

from feedmix.simulation.behavior import BehaviorModel, BehaviorParams, ReactionProbabilities, Reactions
from feedmix.simulation.driver import SimulationReport, simulate
from feedmix.simulation.population import Population, UserProfile

__all__ = [
    "BehaviorModel",
    "BehaviorParams",
    "Population",
    "ReactionProbabilities",
    "Reactions",
    "SimulationReport",
    "UserProfile",
    "simulate",
]
