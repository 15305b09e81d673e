"""Learned retrieval: user and item embeddings (implicit ALS), item-kNN, and the index that serves them.

``interactions`` turns an event log (ours, or MovieLens for offline evaluation) into the sparse
confidence matrix every trainer reads; ``als_trainer`` and ``item_knn`` learn from it; ``vectors``
stores the result; ``ann_index`` and ``topk`` retrieve with it.
"""
