"""The paper's two metric-learning losses and in-batch hard-negative mining (Section 3.2).

All distances are SQUARED Euclidean, d(x, y) = ||x - y||², and every loss is
the mean over the batch.
"""

from __future__ import annotations

import torch

EPS = 1e-6


def squared_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise squared Euclidean distance of two [B, D] tensors -> [B]."""
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"expected two [B, D] tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return (a - b).pow(2).sum(dim=1)


def m3l_loss(text_anchor: torch.Tensor, image_pos: torch.Tensor, image_neg: torch.Tensor, text_neg: torch.Tensor,
             rho: float = 4.0, alpha1: float = 0.5, alpha2: float = 1.0) -> torch.Tensor:
    r"""Multi-modal Metric Loss (M3L, Eq. 1), mean over the batch.

    .. math::
        L_{M3} = \alpha_1 \frac{d(t, i^+)^\rho}{d(t, i^-)^\rho} + \alpha_2 \frac{d(t, i^+)^\rho}{d(t, t^-)^\rho}

    Parameters
    ----------
    text_anchor, image_pos, image_neg, text_neg : Tensor [B, D]
        Mapped anchor caption, its image, the hard-negative image and that
        image's caption (mapped by the same network).
    rho : float
        Sensitivity exponent (paper: 4).
    alpha1, alpha2 : float
        Weights of the image and the text negative (paper: 0.5 and 1).

    Notes
    -----
    The loss depends only on ratios of distances, so it is invariant to the
    scale of the features. The ratio is computed as ``(d_pos / d_neg) ** rho``
    (the same number as the paper's quotient of powers) so that ``rho = 4``
    cannot overflow at large feature scales; ``EPS`` guards a zero denominator.
    """
    if rho <= 0:
        raise ValueError(f"rho must be positive, got {rho}")
    d_pos = squared_distance(text_anchor, image_pos)
    d_img = squared_distance(text_anchor, image_neg)
    d_txt = squared_distance(text_anchor, text_neg)
    loss = alpha1 * (d_pos / (d_img + EPS)).pow(rho) + alpha2 * (d_pos / (d_txt + EPS)).pow(rho)
    return loss.mean()


def patr_loss(text_anchor: torch.Tensor, image_pos: torch.Tensor, image_neg: torch.Tensor,
              eta: float = 1100.0) -> torch.Tensor:
    r"""Positive-Aware Triplet Ranking loss (PATR, Eq. 2), mean over the batch.

    .. math::
        L_{PATR} = d(t, i^+) + \max(0, \eta - d(t, i^-))

    ``eta`` is in units of squared distance: the paper's 1100 fits unnormalised
    2048-d ResNet152 features; use `eta_for_features` for other features.
    """
    d_pos = squared_distance(text_anchor, image_pos)
    d_neg = squared_distance(text_anchor, image_neg)
    return (d_pos + torch.clamp(eta - d_neg, min=0)).mean()


def eta_for_features(image_features: torch.Tensor, factor: float = 1.0, max_pairs: int = 20000,
                     seed: int = 0) -> float:
    """PATR margin at the scale of ``image_features``: ``factor`` × mean squared distance of image pairs.

    The paper's η = 1100 sits near the typical squared distance between two
    ResNet152 average-pooled features; the same *relative* margin for other
    features is ``factor`` times their mean pairwise squared distance
    (``factor = 1`` reproduces that choice). Estimated on up to ``max_pairs``
    random pairs, seeded.
    """
    x = torch.as_tensor(image_features, dtype=torch.float32)
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"need [N >= 2, D] features, got {tuple(x.shape)}")
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, x.shape[0], (max_pairs,), generator=g)
    j = torch.randint(0, x.shape[0], (max_pairs,), generator=g)
    keep = i != j
    return float(factor * (x[i[keep]] - x[j[keep]]).pow(2).sum(1).mean())


def same_caption(captions: torch.Tensor) -> torch.Tensor:
    """[B, B] bool: rows whose caption embeddings are identical (the same sentence under another image).

    COCO, like the synthetic data, has sentences that describe several images
    word for word. Such a caption cannot be the text negative of its twin: the
    distance d(t, t^-) is exactly zero and M3L's ratio is unbounded (it overflows
    to inf within a few epochs once no dropout separates the two outputs).
    """
    if captions.dim() != 2:
        raise ValueError(f"captions must be [B, D], got {tuple(captions.shape)}")
    with torch.no_grad():
        # equal rows get equal group ids (exact comparison, by sorting): O(B log B · D), not O(B² · D)
        _, group = torch.unique(captions, dim=0, return_inverse=True)
        return group[:, None] == group[None, :]


def hardest_negatives(text: torch.Tensor, image: torch.Tensor, image_ids: torch.Tensor | None = None,
                      exclude: torch.Tensor | None = None) -> torch.Tensor:
    """For each anchor text, the index of the closest image in the batch that is not its own.

    Parameters
    ----------
    text : Tensor [B, D]
        Mapped captions (row i belongs to image row i).
    image : Tensor [B, D]
        Image features of the batch.
    image_ids : Tensor [B], optional
        Image identity per row; rows sharing an id are positives of one
        another, never negatives. Without it only the diagonal is excluded.

    Returns
    -------
    LongTensor [B]
        ``j`` per anchor; the negative image is ``image[j]`` and the negative
        text is ``text[j]``, the caption of that image (Section 3.2).

    Raises
    ------
    ValueError
        Mismatched shapes, or an anchor with no valid negative (every row of
        the batch shows its image).
    exclude : BoolTensor [B, B], optional
        Further pairs that may not be negatives of each other, e.g.
        `same_caption` of the input sentences.
    """
    if text.dim() != 2 or text.shape != image.shape:
        raise ValueError(f"text and image must both be [B, D], got {tuple(text.shape)} and {tuple(image.shape)}")
    n = text.shape[0]
    with torch.no_grad():
        dist = torch.cdist(text.float(), image.float()).pow(2)
        if image_ids is None:
            same = torch.eye(n, dtype=torch.bool, device=text.device)
        else:
            ids = torch.as_tensor(image_ids, device=text.device)
            if ids.shape != (n,):
                raise ValueError(f"image_ids must have shape ({n},), got {tuple(ids.shape)}")
            same = ids[:, None] == ids[None, :]
        same = _with_excluded(same, exclude)
        if bool(same.all(dim=1).any()):
            raise ValueError("an anchor has no negative in its batch: every row shares its image id or caption")
        dist = dist.masked_fill(same, float("inf"))
        return dist.argmin(dim=1)


def _with_excluded(same: torch.Tensor, exclude: torch.Tensor | None) -> torch.Tensor:
    if exclude is None:
        return same
    if exclude.shape != same.shape or exclude.dtype != torch.bool:
        raise ValueError(f"exclude must be a bool tensor of shape {tuple(same.shape)}, got "
                         f"{exclude.dtype} {tuple(exclude.shape)}")
    return same | exclude.to(same.device)


def random_negatives(image_ids: torch.Tensor, generator: torch.Generator | None = None,
                     exclude: torch.Tensor | None = None) -> torch.Tensor:
    """For the ablation: a uniformly random other-image row per anchor -> LongTensor [B].

    ``exclude`` as in `hardest_negatives`.
    """
    ids = torch.as_tensor(image_ids)
    n = ids.shape[0]
    same = _with_excluded(ids[:, None] == ids[None, :], exclude)
    if bool(same.all(dim=1).any()):
        raise ValueError("an anchor has no negative in its batch: every row shares its image id or caption")
    scores = torch.rand(n, n, generator=generator).to(ids.device).masked_fill(same, -1.0)
    return scores.argmax(dim=1)
