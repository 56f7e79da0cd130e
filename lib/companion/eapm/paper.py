"""The numbers the EAPM paper reports (COCO val-2017 for Tables 1-2, test-dev for Table 3), AP x100."""

from companion.book.scorecard import PaperNumber

_E = "eapm/05-evaluation:"

REPORTED = [
    PaperNumber("Table 1", "RetinaNet (focal loss), AP", 35.6, ours=_E + "AP_retinanet"),
    PaperNumber("Table 1", "RetinaNet + EAPM-focal mu=1.5, AP", 37.1, ours=_E + "AP_retinanet_mu1p5"),
    PaperNumber("Table 1", "RetinaNet: AP gain of EAPM-focal mu=1.5", 1.5, ours=_E + "gain_mu1p5"),
    PaperNumber("Table 1", "Libra RetinaNet, AP", 37.6),
    PaperNumber("Table 1", "Libra RetinaNet + EAPM-focal mu=1.5, AP", 38.2, ours=_E + "AP_libra_mu1p5"),
    PaperNumber("Table 1", "FCOS, AP", 35.7),
    PaperNumber("Table 1", "FCOS + EAPM-focal mu=1.5, AP", 37.1),
    PaperNumber("Table 2", "Libra RetinaNet (mu=1.5) + EAPM-balanced-L1 theta=1.0, AP", 38.4,
                ours=_E + "AP_libra_mu1p5_theta1"),
    PaperNumber("Table 2", "Libra RetinaNet (mu=1.5): AP gain of EAPM-balanced-L1 theta=1.0", 0.2,
                ours=_E + "gain_theta1"),
    PaperNumber("Table 2", "Libra R-CNN, AP", 38.3),
    PaperNumber("Table 2", "Libra R-CNN + EAPM-balanced-L1 theta=1.5, AP", 38.6),
    PaperNumber("Table 3", "EAPM (ResNet-50-FPN, test-dev), AP", 38.5),
    PaperNumber("Table 3", "EAPM (ResNet-101-FPN, test-dev), AP", 40.4),
]

# Table rows in the paper's layout, for the evaluation notebook: (setting, AP, AP50, AP75, APs, APm, APl).
# The paper's training setting (Sec. 3.2: mmdetection's 1x schedule on 4 GPUs x 2 images), as TrainConfig
# fields; the `full` profile must say the same (tests/unit/eapm/test_paper.py).
SCHEDULE = {"backbone": "resnet50", "fpn_channels": 256, "image_size": 800, "epochs": 12, "batch_size": 8,
            "optimizer": "sgd", "lr": 0.005, "lr_steps": (8, 11), "warmup_iters": 500, "weight_decay": 1e-4,
            "grad_clip": 35.0}

TABLE1 = [
    ("Libra RetinaNet", 37.6, 56.9, 40.1, 21.7, 41.5, 49.6),
    ("  mu = 1.0", 37.9, 58.1, 40.2, 22.4, 41.9, 49.0),
    ("  mu = 1.5", 38.2, 58.0, 40.7, 22.4, 41.5, 50.3),
    ("  mu = 2.0", 38.0, 58.0, 40.5, 22.3, 41.6, 49.7),
    ("RetinaNet", 35.6, 55.5, 38.3, 20.0, 39.6, 46.8),
    ("  mu = 1.0", 37.0, 56.6, 39.5, 20.4, 40.4, 49.1),
    ("  mu = 1.5", 37.1, 56.6, 39.6, 20.5, 40.6, 49.1),
    ("  mu = 2.0", 36.7, 55.9, 39.3, 20.7, 40.0, 48.2),
    ("FCOS", 35.7, 55.8, 38.4, 20.2, 39.2, 47.0),
    ("  mu = 1.0", 36.9, 56.7, 39.2, 21.3, 40.7, 48.2),
    ("  mu = 1.5", 37.1, 56.8, 39.4, 22.3, 40.8, 47.8),
    ("  mu = 2.0", 36.8, 56.5, 39.0, 21.0, 40.5, 47.6),
]
TABLE2 = [
    ("Libra RetinaNet (mu = 1.5)", 38.2, 58.0, 40.7, 22.4, 41.5, 50.3),
    ("  theta = 1.0", 38.4, 58.2, 40.8, 22.5, 41.9, 50.0),
    ("  theta = 1.5", 38.2, 57.9, 40.6, 22.3, 41.8, 50.0),
    ("  theta = 2.0", 38.3, 58.0, 40.9, 22.2, 41.8, 49.8),
    ("Libra R-CNN", 38.3, 59.5, 41.9, 22.1, 42.0, 48.5),
    ("  theta = 1.0", 38.5, 59.1, 41.8, 21.8, 42.1, 49.2),
    ("  theta = 1.5", 38.6, 59.2, 41.9, 22.4, 42.3, 49.1),
    ("  theta = 2.0", 38.6, 59.2, 42.1, 22.5, 42.0, 49.6),
]

_FAMILIES = {  # our ablation families -> (paper table, index of the family's baseline row)
    "Libra RetinaNet": (TABLE1, 0),
    "RetinaNet": (TABLE1, 4),
    "FCOS": (TABLE1, 8),
    "Libra RetinaNet (mu=1.5)": (TABLE2, 0),
    "Libra R-CNN": (TABLE2, 4),
}


def paper_row(family: str, knob: float | None) -> dict[str, float] | None:
    """The paper's (AP, AP50, AP75, APs, APm, APl) for ``family`` at mu/theta = ``knob`` (None: baseline).

    Returns None for a setting the paper did not run (e.g. mu = 0.5).

    >>> paper_row("RetinaNet", 1.5)["AP"]
    37.1
    """
    if family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {sorted(_FAMILIES)}")
    table, start = _FAMILIES[family]
    offsets = {None: 0, 1.0: 1, 1.5: 2, 2.0: 3}
    if knob not in offsets:
        return None
    row = table[start + offsets[knob]]
    return dict(zip(("AP", "AP50", "AP75", "APs", "APm", "APl"), row[1:]))
