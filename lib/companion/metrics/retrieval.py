"""Recall@K for cross-modal retrieval (papers 1 and 3).

The papers' Recall@K (R@K) is the fraction of queries for which **at least one** relevant
item appears among the K items most similar to the query:

.. math:: \\mathrm{R@K} = \\frac{1}{Q}\\sum_{q=1}^{Q}
          \\big[\\,\\exists\\, i \\in \\mathcal{R}_q:\\ \\operatorname{rank}_q(i) \\le K\\,\\big].

How this differs from torchmetrics' ``RetrievalRecall``
--------------------------------------------------------
``torchmetrics.retrieval.RetrievalRecall(top_k=K)`` computes, per query, the *fraction of the
relevant items* found in the top K, :math:`|\\mathcal{R}_q \\cap \\mathrm{top}_K| / |\\mathcal{R}_q|`,
and averages that over queries. With exactly one relevant item per query (one caption per
image, one translation per sentence) the two agree. With several relevant items per query
(five captions per image in MS-COCO style evaluation) torchmetrics' value is smaller: a query
whose top 5 contains one of its five captions is a full hit here but counts 1/5 there.
The "any hit" version computed here is the usual image-text retrieval convention (R@1, R@5,
R@10 in cross-modal retrieval tables), and the one the book uses for papers 1 and 3.

Ties
----
Ties are broken **pessimistically**: an irrelevant item whose similarity equals that of the
best relevant item is ranked *above* it. The rank of the first relevant item of query q is
therefore

.. math:: 1 + \\#\\{\\, j \\notin \\mathcal{R}_q : s_{qj} \\ge \\max_{i\\in\\mathcal{R}_q} s_{qi} \\,\\}.

This makes the result independent of the order in which items are stored (a stable sort
would favour whichever item happens to have the lower index) and never overstates a model:
a degenerate model that gives every item the same score gets R@K = 0 for K < n_items
instead of a score that depends on item order. ``torch.topk`` and ``np.argsort`` do not
promise any particular order among ties, which is why we do not rely on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral

import numpy as np

__all__ = ["first_relevant_rank", "image_text_recall", "recall_at_k", "relevant_fraction_at_k"]

# Queries are processed in blocks so that the [block, n_items] comparison stays small
# even for 10^5 x 10^5 similarity matrices.
_BLOCK = 1024


def _as_numpy(similarity) -> np.ndarray:
    # torch tensors (possibly on a GPU, possibly requiring grad) without importing torch here.
    if hasattr(similarity, "detach") and hasattr(similarity, "cpu"):
        similarity = similarity.detach().cpu().numpy()
    arr = np.asarray(similarity)
    if arr.ndim != 2:
        raise ValueError(f"similarity must be 2-D [n_queries, n_items], got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"similarity must have at least one query and one item, got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"similarity must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if np.isnan(arr).any():
        bad = np.argwhere(np.isnan(arr))[0]
        raise ValueError(f"similarity contains NaN (first at query {bad[0]}, item {bad[1]})")
    return arr


def _relevant_mask(relevant, n_queries: int, n_items: int) -> np.ndarray:
    if isinstance(relevant, np.ndarray) and relevant.ndim == 1 and relevant.dtype != object:
        relevant = relevant.tolist()
    if hasattr(relevant, "detach"):
        relevant = relevant.detach().cpu().tolist()
    if not isinstance(relevant, Sequence) or isinstance(relevant, (str, bytes)):
        raise ValueError("relevant must be a sequence with one entry (int or set of ints) per query")
    if len(relevant) != n_queries:
        raise ValueError(f"relevant has {len(relevant)} entries but similarity has {n_queries} queries")
    mask = np.zeros((n_queries, n_items), dtype=bool)
    for q, entry in enumerate(relevant):
        if isinstance(entry, np.ndarray):
            entry = entry.tolist()
        items = [entry] if isinstance(entry, Integral) or np.isscalar(entry) else entry
        if not isinstance(items, Iterable):
            raise ValueError(f"relevant[{q}] must be an int or a set of ints, got {type(entry).__name__}")
        items = list(items)
        if not items:
            raise ValueError(f"relevant[{q}] is empty: every query needs at least one relevant item")
        for i in items:
            if isinstance(i, bool) or not isinstance(i, Integral):
                raise ValueError(f"relevant[{q}] contains {i!r}; item indices must be integers")
            if not 0 <= i < n_items:
                raise ValueError(f"relevant[{q}] contains item {i}, outside [0, {n_items})")
        mask[q, items] = True
    return mask


def _check_ks(ks) -> list[int]:
    if isinstance(ks, Integral):
        ks = (ks,)
    ks = list(ks)
    if not ks:
        raise ValueError("ks is empty; give at least one K")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, Integral):
            raise ValueError(f"every K must be an integer, got {k!r}")
        if k < 1:
            raise ValueError(f"every K must be >= 1, got {k}")
    return [int(k) for k in ks]


def first_relevant_rank(similarity, relevant) -> np.ndarray:
    """1-based rank of the best-ranked relevant item of each query (pessimistic ties).

    Parameters
    ----------
    similarity : array-like or torch.Tensor, shape [n_queries, n_items]
        Higher means more similar. ``+inf``/``-inf`` are allowed (e.g. to mask items); NaN is not.
    relevant : sequence of length n_queries
        ``relevant[q]`` is one item index or a collection (set, list, array) of indices.

    Returns
    -------
    numpy.ndarray of int64, shape [n_queries]
        Values in ``1 .. n_items``. ``recall_at_k`` is the fraction of these that are <= K.
    """
    sim = _as_numpy(similarity)
    n_queries, n_items = sim.shape
    mask = _relevant_mask(relevant, n_queries, n_items)
    ranks = np.empty(n_queries, dtype=np.int64)
    for start in range(0, n_queries, _BLOCK):
        s = sim[start:start + _BLOCK]
        m = mask[start:start + _BLOCK]
        best = np.where(m, s, -np.inf).max(axis=1, keepdims=True)
        # An irrelevant item ties-or-beats the best relevant one: it is ranked above it.
        above = ((s >= best) & ~m).sum(axis=1)
        ranks[start:start + _BLOCK] = above + 1
    return ranks


def recall_at_k(similarity, relevant, ks=(1, 5, 10)) -> dict[int, float]:
    """Recall@K as retrieval papers report it: the share of queries with a relevant item in the top K.

    Parameters
    ----------
    similarity : array-like or torch.Tensor, shape [n_queries, n_items]
        Score of every item for every query; higher means more similar (cosine similarity,
        negative distance, ...). ``+-inf`` are allowed; NaN raises.
    relevant : sequence of length n_queries
        ``relevant[q]`` is the index of the one relevant item of query q, or a collection of
        indices when several items are relevant (e.g. several captions per image). A query
        counts as a hit when **any** of them is in the top K.
    ks : int or iterable of int, default (1, 5, 10)
        Cut-offs, each >= 1. K >= n_items gives 1.0 (every item is in the top K).

    Returns
    -------
    dict[int, float]
        ``{K: recall}`` in the order of ``ks``, values in [0, 1].

    Raises
    ------
    ValueError
        Similarity not 2-D or empty, non-numeric or containing NaN; ``relevant`` of the wrong
        length, with an empty entry, a non-integer or an index outside ``[0, n_items)``;
        a K < 1 or not an integer.

    Notes
    -----
    Ties are pessimistic (irrelevant items tied with the best relevant item rank above it),
    see the module docstring; this differs from torchmetrics' ``RetrievalRecall``, which
    divides the number of relevant items found by the number of relevant items.

    Examples
    --------
    >>> sim = [[0.9, 0.1, 0.5], [0.2, 0.3, 0.8]]
    >>> recall_at_k(sim, [0, 1], ks=(1, 2))
    {1: 0.5, 2: 1.0}
    """
    ks = _check_ks(ks)
    ranks = first_relevant_rank(similarity, relevant)
    return {k: float(np.mean(ranks <= k)) for k in ks}


def relevant_fraction_at_k(similarity, relevant, ks=(1, 5, 10)) -> dict[int, float]:
    """The torchmetrics ``RetrievalRecall`` convention, for comparison: found / relevant, averaged.

    Per query, the number of relevant items among the top K divided by the number of relevant
    items, :math:`|\\mathcal{R}_q \\cap \\mathrm{top}_K| / |\\mathcal{R}_q|`, averaged over queries.
    The top K is taken with the same pessimistic ties as :func:`recall_at_k`: an item is in the
    top K when fewer than K items, counting tied irrelevant ones and higher-scored relevant ones,
    rank above it. Equals :func:`recall_at_k` when every query has exactly one relevant item and
    is never larger. Arguments, returns and errors as in :func:`recall_at_k`.
    """
    ks = _check_ks(ks)
    sim = _as_numpy(similarity)
    n_queries, n_items = sim.shape
    mask = _relevant_mask(relevant, n_queries, n_items)
    out = {k: 0.0 for k in ks}
    for q in range(n_queries):
        s, m = sim[q], mask[q]
        rel_scores = s[m]
        # Pessimistic rank of each relevant item: irrelevant items scoring >= it, relevant
        # items scoring strictly more (ties among relevant items do not push each other down).
        irrelevant = np.sort(s[~m])
        above_irrelevant = irrelevant.size - np.searchsorted(irrelevant, rel_scores, side="left")
        rel_sorted = np.sort(rel_scores)
        above_relevant = rel_sorted.size - np.searchsorted(rel_sorted, rel_scores, side="right")
        ranks = above_irrelevant + above_relevant + 1
        for k in ks:
            out[k] += float(np.mean(ranks <= k))
    return {k: v / n_queries for k, v in out.items()}


def image_text_recall(similarity, text_image, ks=(1, 5, 10)) -> dict[str, dict[int, float]]:
    """Recall@K in both directions of image-text retrieval, with the direction fixed by the input's layout.

    Parameters
    ----------
    similarity : array-like or torch.Tensor, shape [n_images, n_texts]
        Rows are images, columns are texts (captions, reports). Not symmetric in general:
        passing it transposed swaps the two results below, which is why the layout is fixed here.
    text_image : sequence of n_texts ints
        ``text_image[j]`` is the image that text j describes. Several texts may share an image
        (five captions per image); every image needs at least one text.
    ks : as in `recall_at_k`.

    Returns
    -------
    ``{"i2t": {K: R@K}, "t2i": {K: R@K}}``: image→text (each image queries all texts; a hit when
    any of its texts is in the top K) and text→image (each text queries all images).
    """
    sim = _as_numpy(similarity)
    n_images, n_texts = sim.shape
    if hasattr(text_image, "detach"):
        text_image = text_image.detach().cpu().tolist()
    text_image = list(np.asarray(text_image).tolist()) if not isinstance(text_image, list) else text_image
    if len(text_image) != n_texts:
        raise ValueError(f"text_image has {len(text_image)} entries but similarity has {n_texts} text columns "
                         f"(shape {sim.shape}: rows must be images, columns texts)")
    texts_of: list[set] = [set() for _ in range(n_images)]
    for j, i in enumerate(text_image):
        if isinstance(i, bool) or not isinstance(i, Integral) or not 0 <= i < n_images:
            raise ValueError(f"text_image[{j}] = {i!r} is not an image index in [0, {n_images})")
        texts_of[i].add(j)
    lonely = [i for i, t in enumerate(texts_of) if not t]
    if lonely:
        raise ValueError(f"{len(lonely)} image(s) have no text (first: image {lonely[0]}); "
                         "image->text recall needs at least one relevant text per image")
    return {"i2t": recall_at_k(sim, texts_of, ks), "t2i": recall_at_k(sim.T, [int(i) for i in text_image], ks)}
