"""Offline evaluation: temporal splits, ranking metrics and the retrieval benchmark on MovieLens."""
