"""What the paper reports (Carrillo, Clément & Bugeau, ORASIS 2021).

The paper is qualitative: it has no table of measures, no timings and no user study.
Its numbers are the complexity claim of Sec. 3.2 and the settings of Sec. 4.1, so the
scorecard sets our measured cost exponents and the superpixel density against them.
"""

from companion.book.scorecard import PaperNumber

REPORTED = [
    PaperNumber("Sec. 3.2", "cost exponent of pixel-level attention in n (O(n²))", 2.0,
                ours="colortransfer/03-training:slope_pixel",
                note="our fit of log time on log n, streamed pixel attention, this CPU"),
    PaperNumber("Sec. 3.2", "cost exponent of super-feature attention in n (O(n))", 1.0,
                ours="colortransfer/03-training:slope_superpixel",
                note="our fit of log time on log n (pooling + attention + superpixel colours)"),
    PaperNumber("Sec. 4.1", "superpixels per sqrt(n) (SLIC, 3·sqrt(n))", 3.0,
                ours="colortransfer/02-model:superpixels_per_sqrt_n",
                note="SLIC returns about, not exactly, the requested count"),
    PaperNumber("Sec. 3.1", "feature channels C of the first CNN layers (64 or 128)", 64.0,
                ours="colortransfer/02-model:feature_channels",
                note="ours: EfficientNet-Lite0 stem + blocks 0 and 2, not VGG-19"),
    PaperNumber("Sec. 4.1", "attention temperature tau", 0.02, ours=None, note="a setting; our default"),
    PaperNumber("Sec. 4.1", "fusion spatial scale delta_s", 10.0, ours=None, note="a setting; our default"),
    PaperNumber("Sec. 4.1", "fusion colour scale delta_c", 0.1, ours=None, note="a setting; our default"),
    PaperNumber("Sec. 4.1", "VGG-19 ImageNet top-5 accuracy (%)", 95.24, ours=None,
                note="no VGG-19 weights or ImageNet offline"),
]
