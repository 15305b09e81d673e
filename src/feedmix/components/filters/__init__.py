"""Filters: one boolean mask per request (True keeps the candidate); an essential filter (safety) that
fails removes every candidate instead of failing open."""
