"""Zero-shot retrieval scores: captions in each language -> ranked test images -> Recall@K.

Text→image retrieval as in the paper: for caption i of the 1K test set, rank
all test images by squared Euclidean distance between the mapped caption and
the image feature (nearest first); image i is the only relevant one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from companion.crosslingual.train import map_texts
from companion.metrics.retrieval import recall_at_k


def similarity(mapped_text: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Negative squared Euclidean distance [N_text, N_image] (higher = closer), the losses' metric."""
    a = torch.from_numpy(np.asarray(mapped_text, np.float32)).double()
    b = torch.from_numpy(np.asarray(image, np.float32)).double()
    return (-torch.cdist(a, b).pow(2)).numpy()


def recall_for_language(model: torch.nn.Module, text: np.ndarray, image: np.ndarray, ks=(1, 5, 10)) -> dict[int, float]:
    """Recall@K of text→image retrieval where row i of ``text`` describes row i of ``image``."""
    if len(text) != len(image):
        raise ValueError(f"{len(text)} captions for {len(image)} images: XTD10 pairs row i with row i")
    sim = similarity(map_texts(model, text), image)
    return recall_at_k(sim, list(range(len(image))), ks=ks)


def recall_table(model: torch.nn.Module, test_text: dict[str, np.ndarray], image: np.ndarray,
                 ks=(1, 5, 10)) -> pd.DataFrame:
    """Rows R@k, one column per language (the paper's Table 2 layout, transposed per model)."""
    cols = {lang: recall_for_language(model, text, image, ks) for lang, text in test_text.items()}
    return pd.DataFrame({lang: {f"R@{k}": v[k] for k in ks} for lang, v in cols.items()})


def raw_recall(text: np.ndarray, image: np.ndarray, ks=(1, 5, 10)) -> dict[int, float]:
    """Recall@K without any mapping (only meaningful when the two spaces coincide); a sanity baseline."""
    return recall_at_k(similarity(text, image), list(range(len(image))), ks=ks)


def chance_recall(n_images: int, k: int) -> float:
    """Recall@k of a random ranking over ``n_images`` images: k / n."""
    return min(k, n_images) / n_images


def ridge_map(train_text: np.ndarray, train_image: np.ndarray, alpha: float = 1.0):
    """A closed-form linear text→image map (ridge regression), as a reference beside the MLP.

    Returns a function ``text [N, Dt] -> [N, Di]``. Not in the paper: it shows
    how much of the zero-shot transfer the frozen encoders give on their own.
    """
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(train_text, train_image)
    return lambda text: model.predict(text).astype(np.float32)


def recall_table_from_map(mapper, test_text: dict[str, np.ndarray], image: np.ndarray, ks=(1, 5, 10)) -> pd.DataFrame:
    """Like `recall_table` for any ``mapper(text) -> image-space array``."""
    out = {}
    for lang, text in test_text.items():
        r = recall_at_k(similarity(mapper(text), image), list(range(len(image))), ks=ks)
        out[lang] = {f"R@{k}": r[k] for k in ks}
    return pd.DataFrame(out)
