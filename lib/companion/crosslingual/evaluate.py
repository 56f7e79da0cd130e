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


def rank1(model: torch.nn.Module, test_text: dict[str, np.ndarray], image: np.ndarray,
          rows: list[int] | None = None) -> dict[str, np.ndarray]:
    """Index of the rank-1 image for each query row (default all), per language -> ``{lang: int [Q]}``."""
    rows = list(range(len(image))) if rows is None else list(rows)
    out = {}
    for lang, text in test_text.items():
        if len(text) != len(image):
            raise ValueError(f"{lang}: {len(text)} captions for {len(image)} images")
        out[lang] = similarity(map_texts(model, text[rows]), image).argmax(axis=1)
    return out


def caption_match_rank1(embeddings: dict[str, np.ndarray], english: str = "en") -> dict[str, np.ndarray]:
    """For each language, the English caption nearest (cosine) to each caption -> ``{lang: int [N]}``.

    Row i of every language describes item i, so ``out[lang] == arange(N)``
    where the encoder aligns that language with English.
    """
    if english not in embeddings:
        raise ValueError(f"no {english!r} embeddings to match against")
    en = np.asarray(embeddings[english], np.float64)
    en = en / np.linalg.norm(en, axis=1, keepdims=True)
    out = {}
    for lang, x in embeddings.items():
        x = np.asarray(x, np.float64)
        if x.shape != en.shape:
            raise ValueError(f"{lang}: embeddings {x.shape} do not match English {en.shape}")
        out[lang] = (x / np.linalg.norm(x, axis=1, keepdims=True) @ en.T).argmax(axis=1)
    return out


def image_clusters(image: np.ndarray, k: int = 8, seed: int = 0) -> np.ndarray:
    """k-means cluster of each image feature row -> int [N] (the paper's colouring of Fig. 3)."""
    from sklearn.cluster import KMeans

    k = min(k, len(image))
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(np.asarray(image, np.float64))


def caption_alignment(test_text: dict[str, dict[str, np.ndarray]], english: str = "en") -> pd.DataFrame:
    """How close each language's captions sit to the English caption of the same image.

    ``test_text[encoder][lang]`` [N, D], row i describing image i. One row per
    encoder and non-English language: the mean cosine to the English caption of
    the *same* image, and to that of *another* image (the next row, cyclically).
    """
    def cos(a, b):
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    rows = []
    for enc, by_lang in test_text.items():
        if english not in by_lang:
            raise ValueError(f"encoder {enc}: no {english!r} captions")
        en = np.asarray(by_lang[english])
        for lang, other in by_lang.items():
            if lang == english:
                continue
            other = np.asarray(other)
            rows.append({"encoder": enc, "language": lang, "same image": float(cos(en, other).mean()),
                         "other image": float(cos(en, np.roll(other, 1, axis=0)).mean())})
    return pd.DataFrame(rows)
