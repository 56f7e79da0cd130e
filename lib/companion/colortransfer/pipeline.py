"""The whole method: superpixels -> features -> super-features -> attention -> fusion -> regrain.

    python -m companion.colortransfer.pipeline --target china --reference rocket --out out.png --device auto

``--target`` / ``--reference`` take a bundled photo name (see `companion.colortransfer.data.BUNDLED`)
or an image path. Feature extraction, attention and fusion run in torch on ``--device``;
SLIC and the regrain run on the CPU (scikit-image, scipy).
"""

from __future__ import annotations

import argparse
import time
from functools import lru_cache

import numpy as np
import torch

from companion.colortransfer import matching
from companion.colortransfer.baselines import regrain as regrain_fn
from companion.colortransfer.data import as_rgb_float, load_image
from companion.colortransfer.models import build_extractor
from companion.core import select_device
from companion.core.backbones import device_sync


@lru_cache(maxsize=8)
def cached_extractor(kind: str, depth: str, weights_path: str | None, device: str):
    """Build each extractor once per process (loading weights dominates small runs)."""
    return build_extractor(kind, depth=depth, weights_path=weights_path, device=device)


def transfer(target, reference, *, features: str = "efficientnet", depth: str = "shallow",
             weights_path: str | None = None, tau: float = 0.02, segments_factor: float = 3.0,
             n_segments: int | None = None, delta_s: float = 10.0, delta_c: float = 0.1, sigma_g: float = 1.0,
             attention: str = "soft", capacity: float = 2.0, centering: str = "image",
             neighbourhood: str | int = "adjacent",
             regrain: bool = True, regrain_smoothness: float = 30.0, device: str = "cpu",
             return_details: bool = False):
    """Transfer the colours of ``reference`` onto ``target`` (the paper's full pipeline).

    Parameters
    ----------
    target, reference : ndarray (H, W, 3), uint8 or float in [0, 1]; sizes may differ.
        Grayscale, RGBA, sides < 16 px and non-finite values raise ValueError.
    features : {"efficientnet", "efficientnet-random", "vgg19", "handcrafted", "colour-stats"}
        A CNN or hand-crafted per-pixel extractor averaged over superpixels, or
        "colour-stats": mean and std of L*a*b* per superpixel, standardised per image
        (`matching.colour_statistics`, no per-pixel features).
    depth : {"shallow", "deep"}
        Which layers of the CNN (the paper: first layers).
    tau : float
        Attention temperature (paper 0.02).
    segments_factor : float
        SLIC superpixels = factor * sqrt(n) (paper 3); ``n_segments`` overrides.
    delta_s, delta_c, sigma_g : float
        Fusion covariance scales (paper 10, 0.1) and Eq. 5's σ_g (unspecified; 1).
    attention : {"soft", "hard", "constrained"}
        "soft": Eq. 1; "hard": one-hot argmax of Eq. 2's correlation (the τ → 0 limit);
        "constrained": one-hot assignment in which each reference superpixel is used at most
        ``ceil(capacity·N_T/N_R)`` times (Giraud-style, `matching.constrained_matching`).
    capacity : float
        For "constrained": times its fair share a reference superpixel may be chosen.
    neighbourhood : {"adjacent", "all"} or int
        Fusion sum over adjacent target superpixels, over k rings of them, or over all
        (exact Eq. 4, O(n^1.5): small images).
    regrain : bool
        Apply the Pitié 2005 regrain after fusion (paper: yes).
    device : str
        "cpu", "cuda", "auto".
    return_details : bool
        Also return a dict with labels, super-features, attention map, intermediate
        images and per-step seconds.

    Returns
    -------
    ndarray (H_T, W_T, 3) float32 in [0, 1]  (and the details dict when asked)

    Examples
    --------
    >>> from companion.colortransfer import load_pair, transfer
    >>> target, reference = load_pair(("china", "rocket"), max_side=128)
    >>> transfer(target, reference, features="handcrafted").shape
    (85, 128, 3)
    """
    t_img = as_rgb_float(target, "target")
    r_img = as_rgb_float(reference, "reference")
    dev = select_device(device)
    if attention not in ("soft", "hard", "constrained"):
        raise ValueError(f"attention must be 'soft', 'hard' or 'constrained', got {attention!r}")
    seconds = {}

    t0 = time.perf_counter()
    t_lab = matching.superpixels(t_img, n_segments, segments_factor)
    r_lab = matching.superpixels(r_img, n_segments, segments_factor)
    seconds["superpixels"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    t_lab_d, r_lab_d = torch.from_numpy(t_lab).to(dev), torch.from_numpy(r_lab).to(dev)
    if features == "colour-stats":
        # Hand-crafted super-features computed per superpixel directly: no per-pixel map.
        sf_t = matching.colour_statistics(t_img, t_lab).to(dev)
        sf_r = matching.colour_statistics(r_img, r_lab).to(dev)
        channels = sf_t.shape[1]
        device_sync(dev)
        seconds["features"] = time.perf_counter() - t0
        t0 = time.perf_counter()
    else:
        extractor = cached_extractor(features, depth, weights_path, str(dev))
        channels = extractor.channels
        f_t, f_r = extractor(t_img), extractor(r_img)
        device_sync(dev)
        seconds["features"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sf_t, sf_r = matching.super_features(f_t, t_lab_d), matching.super_features(f_r, r_lab_d)
        del f_t, f_r  # the full-resolution maps are the largest objects; free them early
    if attention == "soft":
        a = matching.attention_map(sf_t, sf_r, tau, centering)
    elif attention == "hard":
        a = matching.hard_matching(sf_t, sf_r, centering)
    else:
        a = matching.constrained_matching(sf_t, sf_r, capacity)
    ref_colors = matching.mean_colors(torch.from_numpy(r_img).to(dev), r_lab_d)
    sp_colors = matching.direct_matching(a, ref_colors)
    device_sync(dev)
    seconds["matching"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fused = matching.fuse_colors(torch.from_numpy(t_img).to(dev), t_lab_d, sp_colors, delta_s=delta_s,
                                 delta_c=delta_c, sigma_g=sigma_g, neighbourhood=neighbourhood)
    fused = fused.clamp(0, 1).cpu().numpy().astype(np.float32)
    seconds["fusion"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = regrain_fn(t_img, fused, regrain_smoothness) if regrain else fused
    seconds["regrain"] = time.perf_counter() - t0
    seconds["total"] = sum(seconds.values())
    if not return_details:
        return result
    details = dict(
        target_labels=t_lab, reference_labels=r_lab, target_super_features=sf_t.cpu(),
        reference_super_features=sf_r.cpu(), attention=a.cpu(), superpixel_colors=sp_colors.cpu(),
        direct=matching.paint_superpixels(sp_colors.cpu(), t_lab), fused=fused, seconds=seconds,
        device=str(dev), channels=channels,
    )
    return result, details


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m companion.colortransfer.pipeline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", required=True, help="bundled image name or path")
    p.add_argument("--reference", required=True, help="bundled image name or path")
    p.add_argument("--out", required=True, help="output image path (PNG)")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-side", type=int, default=None, help="downscale inputs so the longer side is at most this")
    p.add_argument("--features", default="efficientnet",
                   choices=["efficientnet", "efficientnet-random", "vgg19", "handcrafted", "colour-stats"])
    p.add_argument("--depth", default="shallow", choices=["shallow", "deep"])
    p.add_argument("--weights", default=None, help="local weights file (VGG-19 state dict for --features vgg19)")
    p.add_argument("--tau", type=float, default=0.02)
    p.add_argument("--segments-factor", type=float, default=3.0)
    p.add_argument("--delta-s", type=float, default=10.0)
    p.add_argument("--delta-c", type=float, default=0.1)
    p.add_argument("--attention", default="soft", choices=["soft", "hard", "constrained"])
    p.add_argument("--no-regrain", action="store_true")
    args = p.parse_args(argv)

    target = load_image(args.target, args.max_side)
    reference = load_image(args.reference, args.max_side)
    result, details = transfer(
        target, reference, features=args.features, depth=args.depth, weights_path=args.weights, tau=args.tau,
        segments_factor=args.segments_factor, delta_s=args.delta_s, delta_c=args.delta_c,
        attention=args.attention, regrain=not args.no_regrain, device=args.device, return_details=True,
    )
    import skimage.io

    skimage.io.imsave(args.out, (result * 255 + 0.5).astype(np.uint8), check_contrast=False)
    steps = ", ".join(f"{k} {v:.2f}s" for k, v in details["seconds"].items())
    print(f"{target.shape[1]}x{target.shape[0]} <- {reference.shape[1]}x{reference.shape[0]} on {details['device']}: "
          f"{steps}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
