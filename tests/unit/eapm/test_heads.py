"""Our loss overrides reproduce torchvision's losses when EAPM is off, and differ when it is on."""

import torch
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import RetinaNetClassificationHead

from companion.eapm.models import EAPMClassificationHead, EAPMFCOSHead


def _fcos_inputs(seed=0, n_img=2, n_anchor=60, n_cls=4):
    g = torch.Generator().manual_seed(seed)
    targets, matched, anchors = [], [], []
    for i in range(n_img):
        bxy = torch.rand(3, 2, generator=g) * 40
        boxes = torch.cat([bxy, bxy + 6 + torch.rand(3, 2, generator=g) * 20], 1)
        targets.append({"boxes": boxes, "labels": torch.randint(0, n_cls, (3,), generator=g)})
        m = torch.randint(-1, 3, (n_anchor,), generator=g) if i == 0 else torch.full((n_anchor,), -1)
        matched.append(m)  # second image: all background
        # anchor centres strictly inside their matched box (as FCOS's matcher guarantees)
        frac = 0.25 + 0.5 * torch.rand(n_anchor, 2, generator=g)
        b = boxes[m.clip(min=0)]
        centre = b[:, :2] + frac * (b[:, 2:] - b[:, :2])
        anchors.append(torch.cat([centre - 4, centre + 4], 1))
    outputs = {"cls_logits": torch.randn(n_img, n_anchor, n_cls, generator=g).requires_grad_(True),
               "bbox_regression": torch.rand(n_img, n_anchor, 4, generator=g).requires_grad_(True),
               "bbox_ctrness": torch.randn(n_img, n_anchor, 1, generator=g).requires_grad_(True)}
    return targets, outputs, anchors, matched


def test_fcos_loss_override_matches_torchvision_without_eapm():
    targets, outputs, anchors, matched = _fcos_inputs()
    ref_head, our_head = FCOSHead(32, 1, 4), EAPMFCOSHead(32, 1, 4, mu=None)
    ref = ref_head.compute_loss(targets, outputs, anchors, matched)
    ours = our_head.compute_loss(targets, outputs, anchors, matched)
    assert all(torch.isfinite(v) for v in ref.values())
    for key in ref:
        assert torch.allclose(ours[key], ref[key], rtol=1e-5), key
    g_ref = torch.autograd.grad(sum(ref.values()), list(outputs.values()))
    g_ours = torch.autograd.grad(sum(ours.values()), list(outputs.values()))
    for a, b in zip(g_ref, g_ours):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)
    # with EAPM only the classification term changes
    eapm = EAPMFCOSHead(32, 1, 4, mu=1.5).compute_loss(targets, outputs, anchors, matched)
    assert eapm["classification"] > ref["classification"] * 1.01
    assert torch.equal(eapm["bbox_regression"], ours["bbox_regression"])
    assert torch.equal(eapm["bbox_ctrness"], ours["bbox_ctrness"])


def test_retinanet_classification_override_matches_torchvision_without_eapm():
    g = torch.Generator().manual_seed(3)
    targets = [{"labels": torch.randint(0, 4, (3,), generator=g)} for _ in range(2)]
    logits = torch.randn(2, 50, 4, generator=g).requires_grad_(True)
    matched = [torch.randint(-2, 3, (50,), generator=g) for _ in range(2)]  # -2: between thresholds
    ref = RetinaNetClassificationHead(8, 1, 4).compute_loss(targets, {"cls_logits": logits}, matched)
    ours = EAPMClassificationHead(8, 1, 4, mu=None).compute_loss(targets, {"cls_logits": logits}, matched)
    assert torch.allclose(ours, ref, rtol=1e-5)
    (g_ref,) = torch.autograd.grad(ref, logits)
    (g_ours,) = torch.autograd.grad(ours, logits)
    assert torch.allclose(g_ours, g_ref, rtol=1e-4, atol=1e-8)
