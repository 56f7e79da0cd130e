import math

import pytest
import torch
import torchvision

from companion.eapm.losses import (
    balanced_l1_loss,
    eapm_balanced_l1_loss,
    eapm_focal_loss,
    focal_gradient_curve,
    focal_loss,
    gap_over_sum,
    modulated_deltas,
    modulated_logits,
    modulating_factor,
    regression_gradient_curve,
)


def test_modulating_factor_hand_values():
    a = torch.tensor([0.0, 0.5, 1.0])
    got = modulating_factor(a, 1.5)
    want = [1 + math.tanh(1.5), 1 + math.tanh(1.5) - math.tanh(0.75), 1.0]
    assert torch.allclose(got, torch.tensor(want), atol=1e-7)
    with pytest.raises(ValueError, match="> 0"):
        modulating_factor(a, 0.0)


def test_focal_loss_matches_torchvision():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g) * 3
    t = (torch.rand(40, 6, generator=g) < 0.2).float()
    ref = torchvision.ops.sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="sum")
    assert torch.allclose(focal_loss(x, t), ref, rtol=1e-6)
    assert torch.allclose(eapm_focal_loss(x, t, mu=None), ref, rtol=1e-6)


def test_eapm_focal_value_is_focal_at_modulated_probability():
    # One positive with p = 0.7: Dif = 0.3, MF = 1 + tanh(1.5) - tanh(0.45), p' = 1 - MF * 0.3.
    p = 0.7
    mf = 1 + math.tanh(1.5) - math.tanh(1.5 * 0.3)
    p_mod = 1 - mf * 0.3
    want = -((1 - p_mod) ** 2) * math.log(p_mod)  # Eq. (1), alpha off
    x = torch.tensor([[math.log(p / (1 - p))]], dtype=torch.float64)
    got = eapm_focal_loss(x, torch.ones_like(x), mu=1.5, alpha=None)
    assert got.item() == pytest.approx(want, rel=1e-10)
    # and a negative with p = 0.2: p' = MF(0.2) * 0.2
    mf = 1 + math.tanh(1.5) - math.tanh(0.3)
    want = -((mf * 0.2) ** 2) * math.log(1 - mf * 0.2)
    x = torch.tensor([[math.log(0.2 / 0.8)]], dtype=torch.float64)
    assert eapm_focal_loss(x, torch.zeros_like(x), mu=1.5, alpha=None).item() == pytest.approx(want, rel=1e-10)


def test_focal_gradient_is_original_gradient_at_modulated_logit():
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(64, 5, generator=g, dtype=torch.float64) * 4).requires_grad_(True)
    t = (torch.rand(64, 5, generator=g) < 0.3).double()
    (grad_eapm,) = torch.autograd.grad(eapm_focal_loss(x, t, mu=1.5), x)
    x_mod = modulated_logits(x, t, 1.5).clone().requires_grad_(True)  # x'0 as a fresh leaf
    (grad_plain_at_mod,) = torch.autograd.grad(focal_loss(x_mod, t), x_mod)
    assert torch.allclose(grad_eapm, grad_plain_at_mod, rtol=1e-10, atol=1e-14)
    # and it is not the gradient at the unmodulated point
    (grad_plain,) = torch.autograd.grad(focal_loss(x, t), x)
    assert not torch.allclose(grad_eapm, grad_plain, rtol=1e-3)


def test_modulated_logits_match_probability_formula_and_stay_finite():
    x = torch.tensor([-30.0, -3.0, 0.0, 2.0, 30.0], dtype=torch.float64)
    for target in (0.0, 1.0):
        t = torch.full_like(x, target)
        p = torch.sigmoid(x)
        dif = (p - t).abs()
        # |p' - p*| = MF * Dif, kept <= 1 - 1e-6 so that logit(p') is finite
        want = (modulating_factor(dif, 2.0) * dif).clamp(max=1 - 1e-6)
        x_mod = modulated_logits(x, t, 2.0)
        assert torch.isfinite(x_mod).all()
        got = torch.sigmoid(-x_mod) if target else torch.sigmoid(x_mod)
        assert torch.allclose(got, want, rtol=1e-9, atol=1e-15)


def test_gap_over_sum_hand_values_and_zero_sum():
    t = torch.tensor([0.5, -0.5, 0.0, 1.0])
    ts = torch.tensor([0.25, 0.5, 0.0, 1.0])
    want = torch.tensor([0.25 / 0.75, 1.0, 0.0, 0.0])
    assert torch.allclose(gap_over_sum(t, ts), want)
    with pytest.raises(ValueError, match="differ"):
        gap_over_sum(t, ts[:2])


def test_balanced_l1_hand_values_and_continuity():
    alpha, gamma = 0.5, 1.5
    b = math.exp(gamma / alpha) - 1
    d = 0.4
    want_in = alpha / b * (b * d + 1) * math.log(b * d + 1) - alpha * d
    want_out = gamma * 2.0 + gamma / b - alpha
    got = balanced_l1_loss(torch.tensor([d, 2.0]), torch.zeros(2), reduction="none")
    assert got[0].item() == pytest.approx(want_in, rel=1e-6)
    assert got[1].item() == pytest.approx(want_out, rel=1e-6)
    # b makes both branches meet at |d| = 1 (Eq. 2)
    eps = 1e-6
    near = balanced_l1_loss(torch.tensor([1 - eps, 1 + eps], dtype=torch.float64), torch.zeros(2, dtype=torch.float64),
                            reduction="none")
    assert abs(near[0] - near[1]).item() < 1e-5
    with pytest.raises(ValueError, match="reduction"):
        balanced_l1_loss(torch.zeros(2), torch.zeros(2), reduction="avg")


def test_eapm_balanced_l1_modulates_only_width_and_height():
    pred = torch.tensor([[0.3, -0.2, 0.9, -0.6]], dtype=torch.float64)
    tgt = torch.tensor([[0.1, 0.1, 0.3, 0.2]], dtype=torch.float64)
    mod = modulated_deltas(pred, tgt, 1.0)
    assert torch.equal(mod[:, :2], pred[:, :2])
    gos = (pred[0, 2:] - tgt[0, 2:]).abs() / (pred[0, 2:].abs() + tgt[0, 2:].abs())
    mf = 1 + math.tanh(1.0) - torch.tanh(gos)
    assert torch.allclose(mod[0, 2:], tgt[0, 2:] + mf * (pred[0, 2:] - tgt[0, 2:]))
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        modulated_deltas(pred[:, :3], tgt[:, :3], 1.0)


def test_regression_gradient_is_original_gradient_at_modulated_point():
    g = torch.Generator().manual_seed(2)
    pred = (torch.randn(50, 4, generator=g, dtype=torch.float64)).requires_grad_(True)
    tgt = torch.randn(50, 4, generator=g, dtype=torch.float64)
    (grad_eapm,) = torch.autograd.grad(eapm_balanced_l1_loss(pred, tgt, theta=1.5), pred)
    t_mod = modulated_deltas(pred, tgt, 1.5).clone().requires_grad_(True)
    (grad_at_mod,) = torch.autograd.grad(balanced_l1_loss(t_mod, tgt), t_mod)
    assert torch.allclose(grad_eapm, grad_at_mod, rtol=1e-10, atol=1e-14)


def test_fig3_observations():
    dif = torch.linspace(0.005, 0.995, 199, dtype=torch.float64)
    fl = focal_gradient_curve(dif, None)
    for mu in (1.0, 1.5, 2.0):
        eapm = focal_gradient_curve(dif, mu)
        # (a) easy examples (Dif < 0.05) and very hard ones (Dif > 0.97) nearly unaffected
        easy, hard = dif < 0.05, dif > 0.97
        assert (eapm[easy] - fl[easy]).abs().max() < 0.01 * fl.max()
        assert (eapm[hard] - fl[hard]).abs().max() < 0.05 * fl.max()
        # the others are up-weighted
        mid = (dif > 0.1) & (dif < 0.8)
        assert (eapm[mid] > fl[mid]).all()
    # (b) mu sets how fast the boost grows: larger mu up-weights fairly easy examples more
    # (and, because MF falls back to 1 faster, harder ones less)
    fairly_easy = (dif > 0.02) & (dif < 0.1)
    g1, g15, g2 = (focal_gradient_curve(dif[fairly_easy], mu) for mu in (1.0, 1.5, 2.0))
    assert (g2 > g15).all() and (g15 > g1).all()


def test_fig4_observations():
    d = torch.linspace(0.0, 1.5, 151, dtype=torch.float64)
    smooth = regression_gradient_curve(d, "smooth_l1")
    bl1 = regression_gradient_curve(d, "balanced_l1")
    inl = (d > 0.02) & (d < 0.98)
    assert (bl1[inl] > smooth[inl]).all()  # balanced L1 raises inlier gradients
    small = (d > 0.02) & (d < 0.3)
    prev = bl1
    for theta in (1.0, 1.5, 2.0):
        e = regression_gradient_curve(d, "eapm", theta=theta)
        # EAPM raises inlier gradients of large-shape-variation examples above balanced L1
        assert (e[inl] >= bl1[inl] - 1e-12).all() and (e[small] > bl1[small]).all()
        # and theta sets the rate: larger theta, larger boost for small errors
        tiny = (d > 0.02) & (d < 0.15)
        assert (e[tiny] > prev[tiny]).all()
        assert torch.allclose(e[d > 1.01], bl1[d > 1.01])  # outliers keep the capped gradient gamma
        prev = e
    with pytest.raises(ValueError, match="total"):
        regression_gradient_curve(torch.tensor([2.0]), "eapm", theta=1.0)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("mu", [None, 1.0, 2.0])
def test_fused_focal_matches_autograd_reference(reduction, mu):
    # value and gradient of the one-pass implementation = autograd of Eq. (1) at x' (x' = x for mu None)
    g = torch.Generator().manual_seed(4)
    x = (torch.randn(30, 7, generator=g, dtype=torch.float64) * 5).requires_grad_(True)
    t = (torch.rand(30, 7, generator=g) < 0.3).double()
    w = torch.rand(30, 7, generator=g, dtype=torch.float64)  # a non-uniform upstream gradient
    got = eapm_focal_loss(x, t, mu=mu, reduction=reduction)
    (g_got,) = torch.autograd.grad((got * w).sum() if reduction == "none" else got, x)
    x_ref = (x.detach() if mu is None else modulated_logits(x, t, mu)).clone().requires_grad_(True)
    want = focal_loss(x_ref, t, reduction=reduction)
    (g_want,) = torch.autograd.grad((want * w).sum() if reduction == "none" else want, x_ref)
    assert torch.allclose(got, want, rtol=1e-9, atol=1e-15)
    assert torch.allclose(g_got, g_want, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("theta", [None, 1.0, 2.0])
@pytest.mark.parametrize("beta", [1.0, 0.11])
def test_fused_balanced_l1_matches_autograd_reference(theta, beta):
    g = torch.Generator().manual_seed(5)
    pred = (torch.randn(40, 4, generator=g, dtype=torch.float64)).requires_grad_(True)
    tgt = torch.randn(40, 4, generator=g, dtype=torch.float64)
    tgt[0] = pred[0].detach()  # zero error: t' = t* whatever MF, zero gradient
    tgt[1, 2:] = 0.0
    pred.data[1, 2:] = 0.0  # |t| + |t*| = 0: GoS defined as 0, no NaN
    for reduction in ("none", "mean", "sum"):
        got = eapm_balanced_l1_loss(pred, tgt, theta=theta, beta=beta, reduction=reduction)
        (g_got,) = torch.autograd.grad(got.sum(), pred)
        t_ref = (pred.detach() if theta is None else modulated_deltas(pred, tgt, theta)).clone().requires_grad_(True)
        want = balanced_l1_loss(t_ref, tgt, beta=beta, reduction=reduction)
        (g_want,) = torch.autograd.grad(want.sum(), t_ref)
        assert torch.isfinite(g_got).all()
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-15)
        assert torch.allclose(g_got, g_want, rtol=1e-10, atol=1e-15)


def test_half_precision_inputs_give_float32_loss_and_matching_gradient_dtype():
    x = torch.randn(16, 3).to(torch.bfloat16).requires_grad_(True)
    t = (torch.rand(16, 3) < 0.3).to(torch.bfloat16)
    loss = eapm_focal_loss(x, t, mu=1.5)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert x.grad.dtype == torch.bfloat16 and torch.isfinite(x.grad.float()).all()
    ref = eapm_focal_loss(x.detach().float(), t.float(), mu=1.5)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_bad_strengths_and_shapes_are_clear_errors():
    x, t = torch.zeros(3, 2), torch.zeros(3, 2)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="> 0"):
            eapm_focal_loss(x, t, mu=bad)
        with pytest.raises(ValueError, match="> 0"):
            eapm_balanced_l1_loss(torch.zeros(3, 4), torch.zeros(3, 4), theta=bad)
    with pytest.raises(ValueError, match="shape"):
        eapm_focal_loss(x, t[:2])
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        eapm_balanced_l1_loss(x, t)
