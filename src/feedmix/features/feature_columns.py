"""Names of the candidate columns that hydrated features land in, shared by serving and training."""

from __future__ import annotations


def feature_column(entity: str, name: str) -> str:
    """The candidate column a hydrated feature lands in: ``f.<name>`` for a post's own features,
    ``f.<entity>.<name>`` for the others. Training rows use the same names (see
    ``features.offline.registry_specs``), so a model reads identical columns in both places."""
    return f"f.{name}" if entity == "post" else f"f.{entity}.{name}"
