"""The paper's contrastive loss."""

import pytest
import torch

from companion.radiology.losses import clip_info_nce, info_nce, symmetric_cross_entropy


def test_symmetric_loss_equals_info_nce():
    torch.manual_seed(1)
    a, b = torch.randn(7, 12), torch.randn(7, 12)
    for tau in (0.07, 0.5, 1.0):
        assert torch.allclose(symmetric_cross_entropy(a, b, tau), clip_info_nce(a, b, tau), atol=1e-5)
    # matched pairs give a lower loss than shuffled ones
    assert symmetric_cross_entropy(a, a, 0.1) < symmetric_cross_entropy(a, b, 0.1)
    # one direction alone is not symmetric in general
    assert not torch.allclose(info_nce(a, b), info_nce(b, a))
    with pytest.raises(ValueError):
        symmetric_cross_entropy(a, b[:3])
