"""The bytes a coordinator and a shard server exchange over gRPC: a fixed header and raw arrays.

Why not protobuf: the messages are three numeric arrays and a few integers. Little-endian arrays
behind a 24-byte header decode with ``np.frombuffer`` (no parse, no copy), need no generated code,
and stay readable from any language with this description. gRPC still carries them, for what it
gives here: the caller's deadline travels to the server, requests and hedges share one HTTP/2
connection per shard, and a shard that is down answers ``UNAVAILABLE`` at once.

Request (every integer ``uint32`` little-endian)::

    b"FMQ1" | q | dim | k | n_exclude | reserved      24 bytes
    exclude  int64[n_exclude]   sorted, unique: the excluded ids this shard holds
    queries  float32[q, dim]

Response::

    b"FMR1" | q | k | shard | n_version | reserved      24 bytes
    ids      int64[q, k]       -1 padded, best first
    scores   float32[q, k]     -inf padded
    version  utf-8[n_version]  the shard build that answered

The int64 block comes first so that it sits at an 8-byte offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[np.float32]

_HEADER = struct.Struct("<4s5I")
REQUEST_MAGIC = b"FMQ1"
RESPONSE_MAGIC = b"FMR1"


class WireError(ValueError):
    """Bytes that are not a message of this format."""


@dataclass(frozen=True)
class SearchRequest:
    queries: npt.NDArray[np.float32]
    k: int
    exclude: IdArray


@dataclass(frozen=True)
class SearchResponse:
    ids: IdArray
    scores: ScoreArray
    shard: int
    version: str


def encode_request(queries: npt.NDArray[np.float32], k: int, exclude: IdArray) -> bytes:
    q, dim = queries.shape
    head = _HEADER.pack(REQUEST_MAGIC, q, dim, k, exclude.shape[0], 0)
    return b"".join(
        (head, np.ascontiguousarray(exclude, dtype="<i8").data, np.ascontiguousarray(queries, "<f4").data)
    )


def decode_request(data: bytes) -> SearchRequest:
    _magic, q, dim, k, n_ex, _ = _unpack(data, REQUEST_MAGIC)
    want = _HEADER.size + 8 * n_ex + 4 * q * dim
    if len(data) != want:
        raise WireError(f"request of {len(data)} bytes, its header says {want}")
    exclude = np.frombuffer(data, dtype="<i8", count=n_ex, offset=_HEADER.size)
    queries = np.frombuffer(data, dtype="<f4", count=q * dim, offset=_HEADER.size + 8 * n_ex)
    return SearchRequest(queries.reshape(q, dim), k, exclude)


def encode_response(ids: IdArray, scores: ScoreArray, shard: int, version: str) -> bytes:
    q, k = ids.shape
    v = version.encode()
    head = _HEADER.pack(RESPONSE_MAGIC, q, k, shard, len(v), 0)
    return b"".join(
        (head, np.ascontiguousarray(ids, dtype="<i8").data, np.ascontiguousarray(scores, "<f4").data, v)
    )


def decode_response(data: bytes) -> SearchResponse:
    _magic, q, k, shard, n_v, _ = _unpack(data, RESPONSE_MAGIC)
    body = _HEADER.size + 12 * q * k
    if len(data) != body + n_v:
        raise WireError(f"response of {len(data)} bytes, its header says {body + n_v}")
    ids = np.frombuffer(data, dtype="<i8", count=q * k, offset=_HEADER.size).reshape(q, k)
    scores = np.frombuffer(data, dtype="<f4", count=q * k, offset=_HEADER.size + 8 * q * k).reshape(q, k)
    return SearchResponse(ids, scores, shard, data[body:].decode())


def _unpack(data: bytes, magic: bytes) -> tuple[bytes, int, int, int, int, int]:
    if len(data) < _HEADER.size:
        raise WireError(f"a message of {len(data)} bytes is shorter than the header")
    fields: tuple[bytes, int, int, int, int, int] = _HEADER.unpack_from(data)
    if fields[0] != magic:
        raise WireError(f"expected {magic!r}, got {fields[0]!r}")
    return fields
