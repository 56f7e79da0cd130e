"""What the paper reports (IU X-ray), for the scorecard and the chapter's tables.

Table 1 and Table 3 list BLEU-1..4, ROUGE(-L) and METEOR. The paper's text (Section 5.1)
quotes the plain-DenseNet comparison as "BLEU-4 ... from 0.39 to 0.48"; those are Table 3's
BLEU-1 values, and its METEOR "0.16" is 0.15 in Table 3. We keep the tables' values.
"""

from companion.book.scorecard import PaperNumber

_METRICS = (("BLEU-1", "BLEU_1"), ("BLEU-2", "BLEU_2"), ("BLEU-3", "BLEU_3"), ("BLEU-4", "BLEU_4"),
            ("ROUGE-L", "ROUGE_L"), ("METEOR", "METEOR"))

#: Table 1 rows (IU X-ray): the baselines the paper copies from earlier work, and its own row.
#: None where the paper prints "-".
TABLE1 = {
    "Show-Tell": (0.24, 0.13, 0.10, 0.07, 0.30, 0.15),
    "Att2in": (0.24, 0.13, 0.11, 0.09, 0.30, 0.16),
    "AdaAtt": (0.28, 0.20, 0.15, 0.12, 0.31, 0.16),
    "M2trans": (0.40, 0.28, 0.16, 0.14, 0.32, 0.17),
    "R2Gen": (0.47, 0.30, 0.21, 0.16, 0.37, 0.18),
    "Wang et al.": (0.45, 0.30, 0.21, 0.15, 0.38, None),
    "Proposed method": (0.48, 0.31, 0.22, 0.18, 0.37, 0.22),
}
#: Table 3 (ablation): plain DenseNet vs the modified one.
TABLE3 = {
    "DenseNet": (0.39, 0.13, 0.10, 0.07, 0.30, 0.15),
    "Proposed method": (0.48, 0.31, 0.22, 0.18, 0.37, 0.22),
}
METRIC_NAMES = tuple(k for _, k in _METRICS)

REPORTED = [
    PaperNumber("Table 1", f"{label}, proposed method (IU X-ray)", value, ours=f"radiology/05-evaluation:{key}")
    for (label, key), value in zip(_METRICS, TABLE1["Proposed method"])
] + [
    PaperNumber("Table 3", f"{label}, plain DenseNet121 (IU X-ray)", value, ours=f"radiology/04-ablations:plain_{key}",
                note="ours: corpus scores (corpus BLEU, as in Table 1) averaged over ablation seeds; "
                     "the paper's BLEU-2..4 of this row equal Show-Tell's in Table 1")
    for (label, key), value in zip(_METRICS, TABLE3["DenseNet"])
]
