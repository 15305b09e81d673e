"""Simulated users: a seeded population, a click/vote/hide model and an HTTP driver.

The simulator closes the loop for offline experiments: users generated from the real 2013
subscriber counts read the feed over the public API and send events back through the same
ingestion path as real clients, so whatever the server learns from it is learned the real way.

Import the parts from their modules (``population``, ``behavior``, ``driver``): the package itself
imports nothing, so ``feedmix --help`` (which loads ``simulation.cli``) stays fast.
"""
