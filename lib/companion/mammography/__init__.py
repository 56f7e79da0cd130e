"""Chapter 2: deep learning to distinguish recalled-benign mammograms (Aboutalib et al., 2018).

A modified AlexNet classifies mammogram images as negative, recalled-benign or malignant in six
scenarios and four training strategies (FFDM, DDSM, both mixed, ImageNet -> DDSM -> FFDM transfer).
"""

LABELS = ("negative", "recalled_benign", "malignant")
"""Class names in the order of their integer codes (0, 1, 2)."""

STRATEGIES = ("ffdm", "ddsm", "mixed", "incremental")
"""The paper's four experiments (i)-(iv)."""
