"""The paper's Table 3 experiment: Multi30K, English-only against multilingual training.

Embeddings of a Multi30K-style dataset (one caption per language per image,
`data.load_multi30k`), and the MLP trained on the captions of one or several
languages, each row paired with its image. The comparison is run at equal
optimiser steps (`train.matched_epochs`), or it would measure the training budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.crosslingual.data import MULTI30K_IMAGES, dataset_fingerprint, load_images, load_multi30k
from companion.crosslingual.features import file_keys
from companion.crosslingual.models import PooledImageEncoder, cached, encode_images, text_encoder, text_encoder_available
from companion.crosslingual.synthetic import make_synthetic_multi30k
from companion.crosslingual.train import CACHE_VERSION, TrainConfig, train_mapping


@dataclass
class AlignedFeatures:
    """Embeddings of a Multi30K-style dataset: one caption per language per image.

    ``text[split][lang]`` [N_split, D_enc], row i describing image i of the split;
    ``image[split]`` [N_split, D_img]; ``names[split]`` the image file names.
    """

    encoder: str
    text: dict[str, dict[str, np.ndarray]]
    image: dict[str, np.ndarray]
    names: dict[str, list[str]]


def embed_multi30k(root: str | Path, image_dir: str | Path, *, encoder: str = "muse", image_size: int = 128,
                   cache_dir: str | Path, splits=("train", "test"), languages=("en", "de", "fr"),
                   image_encoder: str = "efficientnet-lite0", threads: int = 2) -> AlignedFeatures:
    """Load the Multi30K ``splits`` (`data.load_multi30k`) and embed captions and images, with caching."""
    image_dir = Path(image_dir)
    ok, why = text_encoder_available(encoder)
    if not ok:
        raise RuntimeError(f"text encoder {encoder!r} unavailable: {why}")
    encode, cnn = None, None
    text, image, names = {}, {}, {}
    for split in splits:
        data = load_multi30k(root, split, languages, image_dir=image_dir)
        names[split] = data.image_names

        def images(names_=data.image_names):
            nonlocal cnn
            cnn = cnn or PooledImageEncoder(image_encoder)
            return encode_images(load_images(image_dir, names_, image_size), cnn)

        image[split], _ = cached(cache_dir, image_encoder, file_keys(image_dir, data.image_names), images,
                                 f"size={image_size}")
        text[split] = {}
        for lang in languages:
            caps = data.captions[lang]

            def run(caps_=caps):
                nonlocal encode
                encode = encode or text_encoder(encoder, threads=threads)
                return encode(caps_)

            text[split][lang], _ = cached(cache_dir, encoder, caps, run)
    return AlignedFeatures(encoder, text, image, names)


def synthetic_multi30k_features(root: str | Path, *, n_train: int, n_test: int, seed: int, image_size: int,
                                cache_dir: str | Path, encoder: str = "muse") -> AlignedFeatures:
    """Generate (if absent) the synthetic Multi30K miniature under ``root`` and embed its train and test splits."""
    make_synthetic_multi30k(root, n_train, n_test, seed=seed, image_size=image_size)
    return embed_multi30k(root, Path(root) / MULTI30K_IMAGES, encoder=encoder, image_size=image_size,
                          cache_dir=cache_dir)


def train_multi30k(features: AlignedFeatures, train_languages, cfg: TrainConfig, *, cache_dir: str | Path,
                   device: str = "auto", progress: bool | None = None):
    """Train the MLP on the Multi30K training captions of ``train_languages`` (each row paired with its image).

    With several languages every image appears once per language, all rows
    sharing its id (so a caption's translation is never its negative). The
    checkpoint is keyed by encoder, languages, configuration and data.
    Returns ``(model, TrainResult, eta)``.
    """
    train_languages = list(train_languages)
    missing = [lang for lang in train_languages if lang not in features.text["train"]]
    if missing:
        raise ValueError(f"no training captions for {missing}; have {sorted(features.text['train'])}")
    n = len(features.names["train"])
    text = np.concatenate([features.text["train"][lang] for lang in train_languages])
    image = np.concatenate([features.image["train"]] * len(train_languages))
    ids = np.tile(np.arange(n, dtype=np.int64), len(train_languages))
    key = dataset_fingerprint([f"rev{CACHE_VERSION}", features.encoder, cfg.key(), ",".join(train_languages),
                               *features.names["train"]])
    path = Path(cache_dir) / f"mlp-m30k-{features.encoder}-{cfg.loss}-{key}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    return train_mapping(text, image, ids, cfg, device=device, checkpoint_path=path, progress=progress)
