"""Randomness seeded by the request: a request replays exactly, and two components that need the
same draw (a sampler and the propensity it logs) get it without passing state."""

from __future__ import annotations

import hashlib

import numpy as np


def request_rng(request_id: str, salt: str) -> np.random.Generator:
    digest = hashlib.blake2b(f"{salt}:{request_id}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))
