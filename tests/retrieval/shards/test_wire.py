"""The request and response bytes round-trip, and bytes of another kind are refused."""

from __future__ import annotations

import numpy as np
import pytest

from feedmix.retrieval.shards.wire import (
    WireError,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)


def test_request_and_response_round_trip() -> None:
    rng = np.random.default_rng(1)
    q = rng.normal(size=(3, 8)).astype(np.float32)
    exclude = np.array([2, 9, 40], dtype=np.int64)
    req = decode_request(encode_request(q, 7, exclude))
    assert req.k == 7 and np.array_equal(req.queries, q) and np.array_equal(req.exclude, exclude)
    ids = np.array([[4, 1, -1], [3, 2, 5]], dtype=np.int64)
    scores = np.array([[0.9, 0.5, -np.inf], [0.8, 0.7, 0.1]], dtype=np.float32)
    res = decode_response(encode_response(ids, scores, 2, "v1-é"))
    assert np.array_equal(res.ids, ids) and np.array_equal(res.scores, scores)
    assert (res.shard, res.version) == (2, "v1-é")


def test_other_bytes_are_refused() -> None:
    q = np.zeros((1, 4), dtype=np.float32)
    good = encode_request(q, 3, np.empty(0, dtype=np.int64))
    with pytest.raises(WireError):
        decode_response(good)  # a request is not a response
    with pytest.raises(WireError):
        decode_request(good[:-4])  # truncated
    with pytest.raises(WireError):
        decode_request(b"FMQ")
