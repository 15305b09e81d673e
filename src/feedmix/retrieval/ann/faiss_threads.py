"""faiss' OpenMP pool is process-wide: builds borrow more threads, then give them back.

On the serving path a single query never benefits from more than one thread (faiss parallelises over
queries), and on a small shared machine an idle OpenMP pool that spins between requests steals CPU
from the request threads, so servers call ``faiss.omp_set_num_threads(1)`` once and builds use
:func:`faiss_threads` for the duration of the build.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import faiss


@contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` OpenMP threads, then restore the previous setting."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
