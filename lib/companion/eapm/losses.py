"""EAPM losses (Section 2 of the paper), one function each, with the paper's defaults.

The modulation never adds a new gradient formula. The paper (end of Sec. 2.1) keeps the
*original* loss gradient and only changes the point where it is evaluated:
``dL/dx`` at ``x'0 = logit(p'0)`` instead of at ``x0``, and ``dL/dt`` at ``t'0``.
We implement that literally: one pass without autograd computes the loss at the modulated
prediction and the plain loss's derivative there, and a small autograd Function hands that
derivative back as the gradient w.r.t. the raw prediction (the straight-through rule: the
modulating factor is not differentiated). The plain losses (``mu``/``theta`` None) take the
same fused path, so the EAPM overhead benchmark compares like with like; ``focal_loss`` and
``balanced_l1_loss`` are the autograd references the unit tests check against.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_REDUCTIONS = ("none", "sum", "mean")
# p' is kept at least this far from 0 and 1 before taking its logit (float32 resolution
# near 1 is ~6e-8; 1e-6 keeps logit(p') finite and below ~13.8 in magnitude).
_P_EPS = 1e-6
# Gap-over-sum is 0/0 when |t| + |t*| = 0; then the error is 0 too and t' = t* whatever MF is.
_GOS_EPS = 1e-12


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


def _check(pred: torch.Tensor, target: torch.Tensor, reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if pred.shape != target.shape:
        raise ValueError(f"{name}: prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")


def modulating_factor(attribute: torch.Tensor, strength: float) -> torch.Tensor:
    """MF = 1 + tanh(s) - tanh(s * attribute)  (MF_cls with s = mu, MF_reg with s = theta).

    Parameters
    ----------
    attribute : Tensor, any shape
        The example attribute in [0, 1] (``Dif`` or ``GoS``).
    strength : float
        mu or theta, > 0.

    Returns
    -------
    Tensor, same shape: in [1, 1 + tanh(s)]; 1 at attribute 1, 1 + tanh(s) at attribute 0.
    """
    if not strength > 0:
        raise ValueError(f"modulating strength (mu/theta) must be > 0, got {strength!r}")
    return 1.0 + math.tanh(strength) - torch.tanh(strength * attribute)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    reduction: str = "sum",
) -> torch.Tensor:
    """Sigmoid focal loss, Eq. (1) of the paper (Lin et al. 2017), optionally alpha-balanced.

    FL = -a_t (1 - p_t)^gamma log(p_t), with p = sigmoid(x), p_t = p if p* = 1 else 1 - p,
    a_t = alpha if p* = 1 else 1 - alpha (a_t = 1 when ``alpha`` is None).

    Parameters
    ----------
    logits, targets : Tensor [..., C]
        Raw scores x and one-hot labels p* (same shape, float).
    """
    _check(logits, targets, reduction, "focal_loss")
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return _reduce(loss, reduction)


def modulated_logits(logits: torch.Tensor, targets: torch.Tensor, mu: float) -> torch.Tensor:
    """x' = logit(p'), p' = p* + MF_cls(Dif) (p - p*), Dif = |p - p*|, as a value (no gradient).

    The loss does not go through x' (it works with |p' - p*| directly); this is x'0 of
    Sec. 2.1 for the unit tests and figures, which check the loss against autograd at x'.
    Computed in log space on the error side so that very easy examples (p within 1e-8 of p*)
    keep their exact logit instead of rounding to p' = p*. ``MF * Dif`` is clipped to
    ``1 - 1e-6`` so that x' stays finite (see the reading notes).

    Returns
    -------
    Tensor, like ``logits``: x' (detached, float32 or wider).
    """
    x = logits.detach()
    x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    t = targets.detach().to(x.dtype)
    # s is the logit of the error probability: Dif = sigmoid(s); s = x for negatives, -x for positives.
    sign = 1.0 - 2.0 * t
    s = sign * x
    dif = torch.sigmoid(s)
    mf = modulating_factor(dif, mu)
    new_dif = (mf * dif).clamp(max=1.0 - _P_EPS)
    # logit(MF * Dif) = log(MF) + log(Dif) - log(1 - MF * Dif), with the same clip on both terms
    log_new_dif = (torch.log(mf) + F.logsigmoid(s)).clamp(max=math.log1p(-_P_EPS))
    s_new = log_new_dif - torch.log1p(-new_dif)
    return sign * s_new


def _focal_value_and_grad(logits, targets, mu, gamma, alpha):
    """Per-element focal loss at the (optionally) modulated prediction and dL/dx there.

    Everything is written with the error probability e = |p - p*| = sigmoid(s), s = +x for
    negatives and -x for positives, so one sigmoid serves the attribute, the loss and its
    gradient (no logit(p') round trip, no second pass of autograd through the focal terms)::

        e' = e                          (mu None)     or   min(MF_cls(e) e, 1 - 1e-6)
        FL = a_t e'^gamma (-log(1 - e'))
        dFL/dx = sign(s/x) a_t e'^gamma (gamma (1 - e') (-log(1 - e')) + e')

    The gradient is the plain focal gradient evaluated at x' = logit(p') (Sec. 2.1).
    """
    x = logits.detach()
    x = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    t = targets.detach().to(x.dtype)
    sign = 1.0 - 2.0 * t  # +1 for negatives, -1 for positives
    s = sign * x
    err = torch.sigmoid(s)
    if mu is None:
        nll = F.softplus(s)  # -log(p_t), exact for very hard examples too
    else:
        if not mu > 0:
            raise ValueError(f"modulating strength (mu/theta) must be > 0, got {mu!r}")
        # modulating_factor(err, mu), computed in place: one temporary instead of three
        mf = torch.mul(err, mu).tanh_().neg_().add_(1.0 + math.tanh(mu))
        err.mul_(mf).clamp_(max=1.0 - _P_EPS)
        nll = torch.neg(err).log1p_().neg_()
    err_g = err * err if gamma == 2.0 else err.pow(gamma)
    loss = err_g * nll
    grad = torch.rsub(err, 1.0).mul_(nll).mul_(gamma).add_(err).mul_(err_g)
    if alpha is not None:
        # a_t = alpha for positives, 1 - alpha for negatives
        a_t = sign.mul(0.5 - alpha).add_(0.5)
        loss.mul_(a_t)
        grad.mul_(a_t)
    return loss, grad.mul_(sign)


class _LossWithModulatedGradient(torch.autograd.Function):
    """A loss whose gradient is the plain loss's gradient at the modulated prediction.

    Value and gradient are given (computed together, without autograd); backward scales the gradient.

    ``forward(pred, value_and_grad, reduction)`` with ``value_and_grad = (loss, grad)``
    computed without autograd; the returned gradient is exactly ``grad`` (times the incoming
    gradient), which is how the straight-through rule of Sec. 2.1 is realised in one pass.
    """

    @staticmethod
    def forward(ctx, pred, loss, grad, reduction):
        if reduction == "mean":
            grad = grad / max(1, grad.numel())
        ctx.save_for_backward(grad)
        ctx.reduction, ctx.dtype = reduction, pred.dtype
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return (grad * grad_output).to(ctx.dtype), None, None, None


def eapm_focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mu: float | None = 1.5,
    gamma: float = 2.0,
    alpha: float | None = 0.25,
    reduction: str = "sum",
) -> torch.Tensor:
    """EAPM with focal loss (Sec. 2.2): focal loss evaluated at the modulated prediction p'.

    p = sigmoid(x), Dif = |p - p*|, MF_cls = 1 + tanh(mu) - tanh(mu Dif),
    p' = p* + MF_cls (p - p*), loss = FL(p', p*) and dL/dx = FL'(x') with x' = logit(p').

    Value and gradient are computed in one fused pass (``_focal_value_and_grad``); ``mu=None``
    takes the same path without the modulation, so the two differ only by EAPM's own work.
    ``focal_loss`` is the plain autograd reference the unit tests compare against.

    Parameters
    ----------
    logits, targets : Tensor [..., C]
        Raw scores and one-hot labels (same shape; targets in {0, 1}).
    mu : float or None
        Modulation strength (paper: 1.0, 1.5, 2.0; best 1.5). None gives the plain focal loss.
    gamma, alpha : float
        Focal loss parameters (RetinaNet defaults 2.0 and 0.25; alpha None: no balancing).

    Returns
    -------
    Tensor: scalar for ``sum``/``mean``, like ``logits`` for ``none`` (float32 for half inputs).
    """
    _check(logits, targets, reduction, "eapm_focal_loss")
    loss, grad = _focal_value_and_grad(logits, targets, mu, gamma, alpha)
    return _LossWithModulatedGradient.apply(logits, loss, grad, reduction)


def gap_over_sum(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """GoS = |t - t*| / (|t| + |t*|), in [0, 1]; defined as 0 where |t| + |t*| = 0.

    Small GoS at a given error means a large shape variation relative to the anchor.
    """
    if pred.shape != target.shape:
        raise ValueError(f"gap_over_sum: shapes {tuple(pred.shape)} and {tuple(target.shape)} differ")
    total = pred.abs() + target.abs()
    return (pred - target).abs() / total.clamp(min=_GOS_EPS)


def balanced_l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    gamma: float = 1.5,
    beta: float = 1.0,
    reduction: str = "sum",
) -> torch.Tensor:
    """Balanced L1 loss, Eq. (2) (Pang et al. 2019), with mmdetection's threshold beta.

    With d = |t - t*| and b = e^(gamma/alpha) - 1 (the paper writes delta for gamma)::

        L_b = alpha/b (b d + 1) ln(b d / beta + 1) - alpha d      if d < beta
              gamma d + gamma/b - alpha beta                      otherwise

    beta = 1 is Eq. (2); Libra RetinaNet / Libra R-CNN in mmdetection use beta = 0.11 / 1.0.
    """
    _check(pred, target, reduction, "balanced_l1_loss")
    if beta <= 0 or alpha <= 0 or gamma <= 0:
        raise ValueError(f"balanced_l1_loss: alpha, gamma, beta must be > 0 (got {alpha}, {gamma}, {beta})")
    diff = (pred - target).abs()
    b = math.exp(gamma / alpha) - 1.0
    inlier = alpha / b * (b * diff + 1) * torch.log(b * diff / beta + 1) - alpha * diff
    outlier = gamma * diff + gamma / b - alpha * beta
    return _reduce(torch.where(diff < beta, inlier, outlier), reduction)


def modulated_deltas(pred: torch.Tensor, target: torch.Tensor, theta: float) -> torch.Tensor:
    """t' = t* + MF_reg(GoS) (t - t*) on the w and h columns of [N, 4] deltas (no gradient).

    x and y columns are returned unchanged: the paper defines GoS for j in {w, h} only.
    (t'0 of Sec. 2.1, for tests and figures; the loss computes t' - t* in its own pass.)
    """
    if pred.ndim != 2 or pred.shape[-1] != 4:
        raise ValueError(f"box deltas must have shape [N, 4] (tx, ty, tw, th), got {tuple(pred.shape)}")
    t = pred.detach()
    ts = target.detach()
    wh = slice(2, 4)
    mf = modulating_factor(gap_over_sum(t[:, wh], ts[:, wh]), theta)
    out = t.clone()
    out[:, wh] = ts[:, wh] + mf * (t[:, wh] - ts[:, wh])
    return out


def _balanced_l1_value_and_grad(pred, target, theta, alpha, gamma, beta):
    """Per-element balanced L1 at t' (t' = t with ``theta=None``) and dL/dt there, in one pass."""
    t = pred.detach()
    t = t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
    ts = target.detach().to(t.dtype)
    err = t - ts
    if theta is not None:
        wh = slice(2, 4)
        gos = err[:, wh].abs() / (t[:, wh].abs() + ts[:, wh].abs()).clamp(min=_GOS_EPS)
        err[:, wh] *= modulating_factor(gos, theta)  # t' - t* = MF_reg (t - t*)
    diff = err.abs()
    b = math.exp(gamma / alpha) - 1.0
    bd1 = b * diff + 1.0
    log_term = torch.log(b * diff / beta + 1.0)
    inlier = diff < beta
    loss = torch.where(inlier, alpha / b * bd1 * log_term - alpha * diff, gamma * diff + (gamma / b - alpha * beta))
    # d/dd of the inlier branch: alpha ln(b d / beta + 1) + alpha (b d + 1) / (b d + beta) - alpha
    slope = torch.where(inlier, alpha * (log_term + bd1 / (b * diff + beta) - 1.0), torch.full_like(diff, gamma))
    return loss, slope.mul_(torch.sign(err))


def eapm_balanced_l1_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    theta: float | None = 1.0,
    alpha: float = 0.5,
    gamma: float = 1.5,
    beta: float = 1.0,
    reduction: str = "sum",
) -> torch.Tensor:
    """EAPM with balanced L1 loss (Sec. 2.3): balanced L1 at t' = t* + MF_reg (t - t*).

    Value and gradient come from one fused pass; ``theta=None`` takes the same path without
    the modulation (``balanced_l1_loss`` is the autograd reference).

    Parameters
    ----------
    pred, target : Tensor [N, 4]
        Box deltas (tx, ty, tw, th) and their targets (Faster R-CNN parameterisation).
    theta : float or None
        Modulation strength (paper: 1.0, 1.5, 2.0). None gives the plain balanced L1 loss.

    Returns
    -------
    Tensor: scalar for ``sum``/``mean``, [N, 4] for ``none``. dL/dt = L_b'(t').
    """
    _check(pred, target, reduction, "eapm_balanced_l1_loss")
    if pred.ndim != 2 or pred.shape[-1] != 4:
        raise ValueError(f"box deltas must have shape [N, 4] (tx, ty, tw, th), got {tuple(pred.shape)}")
    if beta <= 0 or alpha <= 0 or gamma <= 0:
        raise ValueError(f"balanced_l1_loss: alpha, gamma, beta must be > 0 (got {alpha}, {gamma}, {beta})")
    if theta is not None and not theta > 0:
        raise ValueError(f"modulating strength (mu/theta) must be > 0, got {theta!r}")
    loss, grad = _balanced_l1_value_and_grad(pred, target, theta, alpha, gamma, beta)
    return _LossWithModulatedGradient.apply(pred, loss, grad, reduction)


def smooth_l1_loss(pred: torch.Tensor, target: torch.Tensor, beta: float = 1.0, reduction: str = "sum"):
    """Smooth L1 (Huber with threshold beta), for the Fig. 4 comparison."""
    _check(pred, target, reduction, "smooth_l1_loss")
    return F.smooth_l1_loss(pred, target, beta=beta, reduction=reduction)


# ---- exact gradient curves for Fig. 3 and Fig. 4 -------------------------------------------


def focal_gradient_curve(dif: torch.Tensor, mu: float | None, gamma: float = 2.0) -> torch.Tensor:
    """|dL/dx| of (EAPM-)focal loss for a negative example with p = Dif (alpha off), by autograd.

    Parameters
    ----------
    dif : Tensor [K] in (0, 1): the difficulty |p - p*|.
    """
    p = dif.double().clamp(1e-12, 1 - 1e-12)
    x = torch.log(p / (1 - p)).requires_grad_(True)
    loss = eapm_focal_loss(x, torch.zeros_like(x), mu=mu, gamma=gamma, alpha=None, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g.abs()


def regression_gradient_curve(
    error: torch.Tensor, kind: str, theta: float | None = None, total: float = 1.5,
    alpha: float = 0.5, gamma: float = 1.5, beta: float = 1.0,
) -> torch.Tensor:
    """|dL/dt_w| against |t_w - t_w*| with |t_w| + |t_w*| = ``total`` fixed (Fig. 4), by autograd.

    ``kind`` is ``"smooth_l1"``, ``"balanced_l1"`` or ``"eapm"`` (balanced L1 with EAPM, ``theta``).
    The pair is placed as t* = (total - d)/2, t = (total + d)/2: both non-negative, so
    |t| + |t*| = total and t - t* = d for every d in [0, total].
    """
    d = error.double()
    if (d < 0).any() or (d > total).any():
        raise ValueError(f"errors must lie in [0, total={total}] so that |t| + |t*| = total is possible")
    target_w = (total - d) / 2
    pred = torch.zeros(len(d), 4, dtype=torch.float64)
    tgt = torch.zeros_like(pred)
    pred[:, 2] = target_w + d
    tgt[:, 2] = target_w
    pred.requires_grad_(True)
    if kind == "smooth_l1":
        loss = smooth_l1_loss(pred, tgt, beta=beta)
    elif kind == "balanced_l1":
        loss = balanced_l1_loss(pred, tgt, alpha=alpha, gamma=gamma, beta=beta)
    elif kind == "eapm":
        loss = eapm_balanced_l1_loss(pred, tgt, theta=theta, alpha=alpha, gamma=gamma, beta=beta)
    else:
        raise ValueError(f"kind must be 'smooth_l1', 'balanced_l1' or 'eapm', got {kind!r}")
    (g,) = torch.autograd.grad(loss, pred)
    return g[:, 2].abs()
