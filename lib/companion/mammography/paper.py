"""What the paper reports (Aboutalib et al., Clin Cancer Res 2018), as data.

AUCs come from the Results text and Figs. 1-4 (the paper has no AUC table; Table 1 gives image
counts). ``ours`` names the metric the evaluation notebook records for the same quantity.
"""

from __future__ import annotations

from companion.book.scorecard import PaperNumber

_KEY = "mammography/05-evaluation"

# (strategy, scenario) -> (AUC, 95 % CI low, high, where); None where the paper gives no CI.
PAPER_AUC = {
    ("ffdm", "recalled_vs_negative"): (0.81, 0.75, 0.88, "Results: FFDM, Fig. 1"),
    ("ffdm", "recalled_vs_rest"): (0.76, 0.67, 0.86, "Results: FFDM, Fig. 1"),
    ("ffdm", "malignant_vs_negative"): (0.75, 0.65, 0.84, "Results: FFDM, Fig. 1"),
    ("ffdm", "malignant_vs_recalled"): (0.74, 0.65, 0.84, "Results: FFDM, Fig. 1"),
    ("ffdm", "malignant_vs_rest"): (0.70, 0.60, 0.80, "Results: FFDM, Fig. 1"),
    ("ffdm", "triple"): (0.66, None, None, "Results: FFDM, Fig. 1"),
    ("ddsm", "recalled_vs_negative"): (0.96, 0.94, 0.98, "Results: DDSM, Fig. 2"),
    ("ddsm", "malignant_vs_negative"): (0.93, 0.89, 0.97, "Results: DDSM, Fig. 2"),
    ("ddsm", "triple"): (0.85, None, None, "Results: DDSM, Fig. 2"),
    ("ddsm", "recalled_vs_rest"): (0.83, 0.77, 0.89, "Results: DDSM, Fig. 2"),
    ("ddsm", "malignant_vs_recalled"): (0.78, 0.71, 0.85, "Results: DDSM, Fig. 2"),
    ("ddsm", "malignant_vs_rest"): (0.77, 0.70, 0.84, "Results: DDSM, Fig. 2"),
    ("mixed", "recalled_vs_negative"): (0.91, 0.89, 0.94, "Results: combined, Fig. 3"),
    ("mixed", "malignant_vs_negative"): (0.84, 0.79, 0.88, "Results: combined, Fig. 3"),
    ("mixed", "triple"): (0.79, None, None, "Results: combined, Fig. 3"),
    ("mixed", "recalled_vs_rest"): (0.78, 0.73, 0.83, "Results: combined, Fig. 3"),
    ("mixed", "malignant_vs_recalled"): (0.76, 0.70, 0.82, "Results: combined, Fig. 3"),
    ("mixed", "malignant_vs_rest"): (0.76, 0.70, 0.82, "Results: combined, Fig. 3"),
    ("incremental", "malignant_vs_recalled"): (0.80, 0.71, 0.88, "Results: incremental, Fig. 4"),
    ("incremental", "malignant_vs_rest"): (0.74, 0.65, 0.84, "Results: incremental, Fig. 4"),
    ("incremental", "malignant_vs_negative"): (0.77, 0.68, 0.87, "Results: incremental, Fig. 4"),
    ("incremental", "recalled_vs_rest"): (0.79, 0.70, 0.87, "Results: incremental, Fig. 4"),
    ("incremental", "recalled_vs_negative"): (0.83, 0.76, 0.87, "Results: incremental, Fig. 4"),
    ("incremental", "triple"): (0.68, None, None, "Results: incremental, Fig. 4"),
}

# DeLong p-values, (i) FFDM (ImageNet only) vs (iv) incremental, Fig. 4 / Results (unadjusted).
PAPER_DELONG_P = {
    "malignant_vs_recalled": 0.10,
    "malignant_vs_rest": 0.15,
    "malignant_vs_negative": 0.30,
    "recalled_vs_rest": 0.31,
    "recalled_vs_negative": 0.34,
}

# False-negative analysis (Results): share of interval-cancer images called malignant.
PAPER_FALSE_NEGATIVE = {
    ("malignant_vs_negative", "excluded"): 0.713,
    ("malignant_vs_recalled", "excluded"): 0.636,
    ("malignant_vs_negative", "half_in_training"): 0.728,
    ("malignant_vs_recalled", "half_in_training"): 0.684,
}

# Table 1: images per experiment, (strategy, "recalled_vs_negative" | "others") ->
# (train total, train per category, test total, test per category). "Others" covers every other scenario.
PAPER_TABLE1 = {
    ("ffdm", "recalled_vs_negative"): (3040, 1520, 160, 80),
    ("ffdm", "others"): (1734, 867, 100, 50),
    ("ddsm", "recalled_vs_negative"): (5282, 2641, 278, 139),
    ("ddsm", "others"): (3294, 1647, 172, 86),
    ("mixed", "recalled_vs_negative"): (8322, 4161, 438, 219),
    ("mixed", "others"): (5028, 2514, 272, 136),
    ("incremental", "recalled_vs_negative"): (3040, 1520, 160, 80),
    ("incremental", "others"): (1734, 867, 100, 50),
}

# Methods ("Deep learning classifiers"): the training settings, fixed in all experiments, and the network
# (AlexNet as published: 227-px inputs, 4,096-unit fully connected layers, dropout 0.5, no BatchNorm).
# `train.TrainConfig`'s defaults and the ``full`` profile must agree with these (a unit test checks it).
TRAINING = {"batch_size": 50, "weight_decay": 0.001, "momentum": 0.9, "lr": 0.001, "lr_step_iterations": 2500,
            "input_size": 227, "backbone": "alexnet", "width": 1.0, "fc_features": 4096, "dropout": 0.5,
            "batch_norm": False, "flip": False}

PAPER_SPECIFICITY_AT_869 = 0.87  # Discussion: best malignant-vs-negative model at 86.9 % sensitivity


def metric_name(strategy: str, scenario: str) -> str:
    return f"auc_{strategy}_{scenario}"


REPORTED = (
    [PaperNumber(where, f"AUC, {strategy}, {scenario.replace('_', ' ')}", auc, ours=f"{_KEY}:{metric_name(strategy, scenario)}")
     for (strategy, scenario), (auc, _, _, where) in PAPER_AUC.items()]
    + [PaperNumber("Results: incremental, Fig. 4", f"DeLong p, (i) vs (iv), {scenario.replace('_', ' ')}", p,
                   ours=f"{_KEY}:p_delong_{scenario}", note="paper: unadjusted; ours: unadjusted (Holm also shown)")
       for scenario, p in PAPER_DELONG_P.items()]
    + [PaperNumber("Results: false negative analysis",
                   f"interval cancers called malignant, {scenario.replace('_', ' ')} model, "
                   f"{'interval patients excluded' if setting == 'excluded' else '50 % of them in training'}",
                   value, ours=f"{_KEY}:fn_{scenario}_{setting}")
       for (scenario, setting), value in PAPER_FALSE_NEGATIVE.items()]
    + [PaperNumber("Discussion", "specificity at 86.9 % sensitivity, best malignant-vs-negative model",
                   PAPER_SPECIFICITY_AT_869, ours=f"{_KEY}:specificity_at_869")]
)
