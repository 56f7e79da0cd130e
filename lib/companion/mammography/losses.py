"""The paper's one loss: softmax followed by the multinomial logistic loss (Caffe's SoftmaxWithLoss)."""

from __future__ import annotations

import torch
from torch import nn


def softmax_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None = None
                          ) -> torch.Tensor:
    r"""Mean softmax cross-entropy.

    .. math:: L = -\frac{1}{N}\sum_i w_{y_i} \log \frac{e^{z_{i,y_i}}}{\sum_k e^{z_{i,k}}}

    (with weights, divided by :math:`\sum_i w_{y_i}` instead of N). The paper balances the
    classes by sampling (Table 1: equal images per category), so ``class_weights`` is None by default.

    Parameters
    ----------
    logits : float tensor [N, C]
    targets : int64 tensor [N] with values in 0..C-1
    class_weights : float tensor [C], optional
    """
    if logits.ndim != 2 or targets.ndim != 1 or len(logits) != len(targets):
        raise ValueError(f"need logits [N, C] and targets [N], got {tuple(logits.shape)} and {tuple(targets.shape)}")
    return nn.functional.cross_entropy(logits.float(), targets, weight=class_weights)


class SoftmaxCrossEntropy(nn.Module):
    """Module form of `softmax_cross_entropy`."""

    def __init__(self, class_weights: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("class_weights", class_weights)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return softmax_cross_entropy(logits, targets, self.class_weights)
