"""Candidate hydrators: add feature columns for every candidate in one call (one round trip to a store),
so the filters and scorers after them read whole columns."""
