"""Candidate sources: where a feed's candidates come from."""
