"""Contrastive losses of Section 3.4, and CLIP's InfoNCE written independently to compare.

Both take unit-length embeddings ``image`` and ``text`` of shape [N, D] where row i of each
is a matched pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def symmetric_cross_entropy(image: torch.Tensor, text: torch.Tensor, temperature: float | torch.Tensor = 0.07,
                            reduction: str = "mean") -> torch.Tensor:
    """The paper's loss: categorical cross-entropy of the correct pair, both directions.

    .. math::
        s_{ij} = \\cos(v_i, t_j) / \\tau, \\quad
        P^{i\\to t}_{ij} = \\frac{e^{s_{ij}}}{\\sum_k e^{s_{ik}}}, \\quad
        P^{t\\to i}_{ji} = \\frac{e^{s_{ij}}}{\\sum_k e^{s_{kj}}}, \\quad
        \\mathcal{L} = -\\frac{1}{2N}\\sum_i \\left(\\log P^{i\\to t}_{ii} + \\log P^{t\\to i}_{ii}\\right)

    Parameters
    ----------
    image, text : Tensor [N, D]
        Embeddings of N matched pairs (cosine similarity is taken, so any norm is fine).
    temperature : float or scalar Tensor
        τ; CLIP initialises it at 0.07.
    """
    if image.shape != text.shape or image.ndim != 2:
        raise ValueError(f"image and text must both be [N, D], got {tuple(image.shape)} and {tuple(text.shape)}")
    logits = F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T / temperature  # [N, N]
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target, reduction=reduction)
                  + F.cross_entropy(logits.T, target, reduction=reduction))


def info_nce(query: torch.Tensor, keys: torch.Tensor, temperature: float | torch.Tensor = 0.07) -> torch.Tensor:
    """InfoNCE (van den Oord et al., 2018) with the positive of query i at key i, the others negatives.

    .. math:: \\mathcal{L}_{NCE} = -\\frac{1}{N}\\sum_i \\log
              \\frac{\\exp(q_i\\cdot k_i/\\tau)}{\\exp(q_i\\cdot k_i/\\tau) + \\sum_{j\\ne i}\\exp(q_i\\cdot k_j/\\tau)}

    Written from the definition (positive score minus log-sum-exp over positive and negatives),
    not through ``cross_entropy``, so that the equality with `symmetric_cross_entropy` is a check.
    """
    q = F.normalize(query, dim=-1)
    k = F.normalize(keys, dim=-1)
    positive = (q * k).sum(-1) / temperature                    # [N]
    scores = q @ k.T / temperature                              # [N, N]
    return (torch.logsumexp(scores, dim=1) - positive).mean()


def clip_info_nce(image: torch.Tensor, text: torch.Tensor, temperature: float | torch.Tensor = 0.07) -> torch.Tensor:
    """CLIP's loss: the mean of image→text and text→image InfoNCE."""
    return 0.5 * (info_nce(image, text, temperature) + info_nce(text, image, temperature))
