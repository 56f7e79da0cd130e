"""What the paper reports: Recall@10 on XTD10 (Table 2) and Multi30K (Table 3).

``ours`` names the metric our 05-evaluation notebook records for the same cell
(mUSE ↔ mUSE; LASER ↔ our stand-in, multilingual-e5-small; Table 3's "Ours" rows ↔
our synthetic Multi30K-layout run), or None where we have nothing comparable (the
baseline the paper cites).
"""

from companion.book.scorecard import PaperNumber
from companion.crosslingual.grammar import LANGUAGES

_TABLE2 = {
    ("LASER", "PATR"): (0.803, 0.702, 0.686, 0.673, 0.682, 0.677, 0.572, 0.672, 0.666, 0.597, 0.518),
    ("mUSE", "PATR"): (0.836, 0.712, 0.756, 0.769, 0.761, 0.734, 0.643, 0.736, 0.718, 0.669, 0.694),
    ("LASER", "M3L"): (0.815, 0.706, 0.712, 0.701, 0.714, 0.686, 0.583, 0.717, 0.689, 0.652, 0.533),
    ("mUSE", "M3L"): (0.853, 0.735, 0.789, 0.789, 0.767, 0.736, 0.678, 0.761, 0.717, 0.709, 0.707),
}
_OURS_ENCODER = {"mUSE": "muse", "LASER": "e5"}

REPORTED = [
    PaperNumber("Table 2", f"Recall@10 XTD10 {lang}, {enc} + {loss}", value,
                ours=f"crosslingual/05-evaluation:R@10_{lang}_{_OURS_ENCODER[enc]}_{loss.lower()}",
                note="ours: synthetic scenes" + ("; LASER stand-in: multilingual-e5-small" if enc == "LASER" else ""))
    for (enc, loss), values in _TABLE2.items()
    for lang, value in zip(LANGUAGES, values)
]

_TABLE3 = [("Baseline (Portaz et al.)", "en,fr,de", (0.546, 0.450, 0.469)),
           ("Ours (mUSE + M3L)", "en,fr,de", (0.581, 0.522, 0.572)),
           ("Baseline (Portaz et al.)", "en", (0.566, 0.442, 0.460)),
           ("Ours (mUSE + M3L)", "en", (0.591, 0.488, 0.548))]

_TRAIN_KEY = {"en,fr,de": "multi", "en": "en"}

REPORTED += [
    PaperNumber("Table 3", f"Recall@10 Multi30K {lang}, {model}, trained on {train}", value,
                ours=(f"crosslingual/05-evaluation:R@10_m30k_{lang}_train_{_TRAIN_KEY[train]}"
                      if model.startswith("Ours") else None),
                note=("ours: synthetic Multi30K-layout scenes, mUSE + M3L" if model.startswith("Ours")
                      else "a baseline the paper cites; not re-run"))
    for model, train, values in _TABLE3
    for lang, value in zip(("en", "de", "fr"), values)
]


def table3() -> dict:
    """Table 3 as ``{(model, training languages): {lang: R@10}}``."""
    return {(model, train): dict(zip(("en", "de", "fr"), values)) for model, train, values in _TABLE3}


def table2() -> dict:
    """Table 2 as ``{(encoder, loss): {lang: R@10}}``."""
    return {key: dict(zip(LANGUAGES, values)) for key, values in _TABLE2.items()}
