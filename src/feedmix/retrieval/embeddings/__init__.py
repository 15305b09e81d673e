"""Learned retrieval: user and item embeddings (implicit ALS), item-kNN, and the index that serves them.

``interactions`` turns an event log (ours, or MovieLens for offline evaluation) into the sparse
confidence matrix every trainer reads; ``als_trainer`` and ``item_knn`` learn from it; ``vectors``
stores the result; ``topk`` ranks with it offline, and :mod:`feedmix.retrieval.ann` (built with
``metric="inner_product"``) serves it.
"""
