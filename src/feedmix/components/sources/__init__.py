"""Candidate sources: each returns candidates for the request, concurrently and under the deadline; the
executor merges them in slot order, first occurrence winning."""
