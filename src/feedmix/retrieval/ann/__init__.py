"""Approximate nearest-neighbour retrieval over post embeddings: build, save, map, filter, hot-swap.

Pieces (one per module): :class:`AnnIndex` (the protocol a source uses), :func:`build_index` /
:func:`load_index` (``registry``), the kinds (``faiss_index``: ``faiss_hnsw``, ``faiss_ivf``,
``faiss_ivf_fp16``, ``exact``; ``usearch_hnsw_index``), :class:`ExclusionSet` and over-fetching
(``overfetch``) for filtered retrieval, :class:`IndexHandle` for swapping a new build into a running
server, ``manifest`` for publishing builds atomically, ``post_index_build.build_post_index`` (what
``feedmix index build`` runs for the content index), and ``mips``: ``build_index(..., metric=
"inner_product")`` serves maximum-inner-product search (ALS factors) on every kind by augmenting the
vectors with one dimension.

Default: ``faiss_ivf_fp16`` (IVF with ``8·√n`` cells, ``nprobe = nlist/80``, vectors stored as float16).
Chosen by ``python -m feedmix.bench.retrieval --data /work/shared/data`` (25 min on this 2-core shared
machine; one query at a time on one thread, the index memory-mapped as a server loads it; recall@100
against exact search; p50 of the sweep, and of the head-to-head re-run that interleaves the kinds'
queries so that they share the same machine load):

=================  =======================  ===============  ============  =========  =========
set                kind (point)             recall@100       p50 ms         build s    file MiB
=================  =======================  ===============  ============  =========  =========
Reddit 428k        faiss_ivf_fp16 (np 48)   0.989 / 0.957    0.32 (0.43)   25         60
(titles / users)   faiss_ivf (np 48)        0.990 / 0.957    0.33 (0.50)   27         112
                   faiss_hnsw (ef 384)      0.958 / 0.952    0.67 (0.66)   29         167
                   usearch_hnsw (ef 512)    0.9496 / 0.957   1.18 (1.11)   34         168
synthetic 1M       faiss_ivf_fp16 (np 96)   0.956            0.74 (0.99)   68         139
                   faiss_hnsw (ef 256)      0.955            0.78 (0.88)   134        389
                   faiss_ivf (np 96)        0.957            0.94 (1.25)   63         261
                   usearch_hnsw (ef 256)    0.956            1.69 (1.73)   201        393
synthetic 5M       faiss_ivf_fp16 (np 128)  0.959            1.46          424        691
=================  =======================  ===============  ============  =========  =========

Why IVF over HNSW: on the real title embeddings (tight community clusters, some duplicate titles) the
HNSW graphs need ``ef`` 384-512 to reach 0.95 and are then slower than IVF, which reaches 0.99 on
held-out titles at 0.3 ms. IVF builds in half the time at 1M (at 5M it took 7 min; HNSW, by the 1M
figure and ``n log n``, would take about 12), has no graph (a third of the bytes; float16 storage
halves the rest), and reads nothing at load (a mapped HNSW touches 60-140 MiB of graph levels when
opened). On the synthetic 1M set HNSW is about as fast at 0.95 (0.78 vs 0.74 ms in the sweep, 0.88 vs
0.99 ms interleaved), so the 1 ms aim at 1M is met by both at p50 (fp16 IVF only just, when
interleaved), with ``faiss_hnsw`` one argument away
(``build_post_index(kind="faiss_hnsw", params={"ef_search": 256})``). p99 at that point is about 1.0 ms
(fp16 IVF) and 1.3 ms (HNSW). usearch 2.26 was the slowest here in both search and build, and its Python
binding has no filtered search; it stays as a kind for comparison. Synthetic data: see
:mod:`feedmix.bench.retrieval`.

Memory-mapped load: every kind opens read-only from a mapping (faiss ``IO_FLAG_MMAP_IFC``, usearch
``view``); the bench measured 0.0 MiB of heap growth at load for all of them, the file's pages come in as
queries touch them (the whole file after a full sweep), live in the page cache, and are shared between
processes and between the old and new index during a swap.

Filtered retrieval: over-fetching is the default (``overfetch``). Requests excluded NSFW posts, about 5%
of the corpus in blocked communities and 1,000 seen posts, half of them among the query's 2,000 nearest.
Reddit (6.6% excluded): recall 0.986 against exact filtered top-100 at 0.61 ms p50, 1.07 search rounds
on average; faiss' native ``IDSelectorBitmap`` filtering reached the same recall at 3.6 ms, nearly all
of it spent turning 28k excluded ids into a row bitmap, which grows with the list (11 ms at 1M, 51 ms at
5M). Synthetic 1M and 5M (12% excluded): recall 0.955 and 0.959 over the 93% of queries that got 100
results; the other 7% are queries whose own cluster is blocked, so their exact filtered answer lies
beyond the 2,000 nearest and the bounded over-fetch (4 rounds) returns them short, ``-1`` padded (native
filtering is no better there). Those rounds are the p99 (16-22 ms): a source that cannot afford them
sets a smaller ``OverfetchPolicy.max_rounds`` or its own timeout.

Threads: search is single-threaded per call (usearch ``threads=1``; faiss parallelises over queries, so
a server sets ``faiss.omp_set_num_threads(1)`` once); builds use 2 threads via
:func:`faiss_threads.faiss_threads`.
"""

from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.ann.index_handle import IndexHandle, IndexVersion, ReloadOutcome
from feedmix.retrieval.ann.protocol import AnnIndex
from feedmix.retrieval.ann.registry import DEFAULT_KIND, INDEX_KINDS, build_index, load_index

__all__ = [
    "DEFAULT_KIND",
    "INDEX_KINDS",
    "AnnIndex",
    "ExclusionSet",
    "IndexHandle",
    "IndexVersion",
    "ReloadOutcome",
    "build_index",
    "load_index",
]
