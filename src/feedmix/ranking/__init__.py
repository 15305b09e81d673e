"""Ranking: scorers that order candidates and selectors that shape the final list."""
