"""Frozen embeddings of a dataset: text (per encoder, per language) and images, cached on disk.

`chapter_features` is the one call every notebook of the chapter starts with: it
generates (once) the profile's synthetic COCO + XTD10 miniature and returns its
cached embeddings (`Features`), with a one-line description of the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.crosslingual.data import COCO_IMAGES, PHOTO_CAPTIONS, CaptionSet, XTD10, load_images
from companion.crosslingual.grammar import LANGUAGES
from companion.crosslingual.models import PooledImageEncoder, cached, encode_images, text_encoder, text_encoder_available
from companion.crosslingual.synthetic import load_synthetic, make_synthetic


@dataclass
class Features:
    """Cached embeddings of one dataset.

    ``train_text[enc]`` [N_captions, D_enc] (English), ``train_image`` [N_captions, D_img]
    (the image of each caption, repeated), ``train_ids`` [N_captions];
    ``test_text[enc][lang]`` [N_test, D_enc] and ``test_image`` [N_test, D_img], row i
    of every language describing test image i.
    """

    train_text: dict[str, np.ndarray]
    train_image: np.ndarray
    train_ids: np.ndarray
    test_text: dict[str, dict[str, np.ndarray]]
    test_image: np.ndarray
    train: CaptionSet
    test: XTD10
    timings: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    root: Path | None = None        # the dataset folder (synthetic: holds scenes.json and the images)
    description: str = ""

    @property
    def encoders(self) -> list[str]:
        """The text encoders that ran (those in ``skipped`` did not)."""
        return list(self.train_text)


def file_keys(image_dir: Path, names: list[str]) -> list[str]:
    # name + size + mtime: a changed file changes the key without hashing every byte
    out = []
    for n in names:
        st = (image_dir / n).stat()
        out.append(f"{n}:{st.st_size}:{int(st.st_mtime)}")
    return out


def embed_dataset(train: CaptionSet, test: XTD10, image_dir: str | Path, *, text_encoders=("muse", "e5"),
                  languages=LANGUAGES, image_encoder: str = "efficientnet-lite0", image_weights: str | None = None,
                  image_size: int = 128, cache_dir: str | Path, threads: int = 2) -> Features:
    """Embed training captions (English), XTD10 captions (every language) and all images, with caching.

    Encoders that cannot run here (e.g. e5 without AVX2) are skipped and listed
    in ``Features.skipped`` with the reason.
    """
    image_dir = Path(image_dir)
    timings, skipped = {}, {}
    train_names = train.unique_images()
    test_names = list(test.image_names)
    image_encoder_model = None

    def images(names):
        nonlocal image_encoder_model
        if image_encoder_model is None:
            image_encoder_model = PooledImageEncoder(image_encoder, image_weights)
        return encode_images(load_images(image_dir, names, image_size), image_encoder_model)

    extra = f"size={image_size}"
    train_img, info = cached(cache_dir, image_encoder, file_keys(image_dir, train_names),
                             lambda: images(train_names), extra)
    timings[f"images_train_{image_encoder}"] = (len(train_names), info["seconds"])
    test_img, info = cached(cache_dir, image_encoder, file_keys(image_dir, test_names),
                            lambda: images(test_names), extra)
    timings[f"images_test_{image_encoder}"] = (len(test_names), info["seconds"])
    row_of = {n: i for i, n in enumerate(train_names)}
    train_image = train_img[[row_of[n] for n in train.file_names]]

    train_text, test_text = {}, {}
    for enc in text_encoders:
        ok, why = text_encoder_available(enc)
        if not ok:
            skipped[enc] = why
            continue
        encode = None

        def run(texts):
            nonlocal encode
            if encode is None:
                encode = text_encoder(enc, threads=threads)
            return encode(texts)

        train_text[enc], info = cached(cache_dir, enc, train.captions, lambda: run(train.captions))
        timings[f"text_train_{enc}"] = (len(train.captions), info["seconds"])
        test_text[enc] = {}
        for lang in languages:
            caps = test.captions[lang]
            test_text[enc][lang], info = cached(cache_dir, enc, caps, lambda: run(caps))
            timings[f"text_{lang}_{enc}"] = (len(caps), info["seconds"])
    return Features(train_text, train_image, np.asarray(train.image_ids, dtype=np.int64), test_text, test_img,
                    train, test, timings, skipped)


def synthetic_features(root: str | Path, *, n_train: int, n_test: int, seed: int, image_size: int,
                       captions_per_image: int, cache_dir: str | Path, text_encoders=("muse", "e5"),
                       languages=LANGUAGES) -> Features:
    """Generate (if absent) the synthetic COCO + XTD10 miniature under ``root`` and embed it."""
    make_synthetic(root, n_train, n_test, seed=seed, image_size=image_size, captions_per_image=captions_per_image)
    train, test = load_synthetic(root, languages)
    feats = embed_dataset(train, test, Path(root) / COCO_IMAGES, text_encoders=text_encoders, languages=languages,
                          image_size=image_size, cache_dir=cache_dir)
    feats.root = Path(root)
    return feats


def chapter_features(profile: str, *, n_train: int, n_test: int, seed: int, image_size: int,
                     captions_per_image: int, encoders=("muse", "e5"), verbose: bool = True) -> Features:
    """The profile's synthetic dataset (generated once under ``build/data/crosslingual/<profile>``) and its
    cached embeddings (``build/cache/crosslingual-embeddings``): the set-up cell of every notebook.

    ``Features.description`` says which data and profile; with ``verbose`` it is printed, with
    every text encoder that could not run and why.
    """
    from companion.book.paths import cache_dir, data_dir

    feats = synthetic_features(data_dir("crosslingual", profile), n_train=n_train, n_test=n_test, seed=seed,
                               image_size=image_size, captions_per_image=captions_per_image,
                               cache_dir=cache_dir("crosslingual-embeddings"), text_encoders=encoders)
    feats.description = (f"synthetic scenes ({profile} profile): {len(feats.train.unique_images())} train images / "
                         f"{len(feats.train)} English captions, {len(feats.test)} test images x 11 languages")
    if verbose:
        print(feats.description)
        for enc, why in feats.skipped.items():
            print(f"skipped text encoder {enc}: {why}")
    return feats


def embed_photo_captions(encoder: str, names: list[str], *, cache_dir: str | Path, languages=LANGUAGES,
                         threads: int = 2) -> dict[str, np.ndarray]:
    """Embeddings of the bundled photos' captions (`data.PHOTO_CAPTIONS`) -> ``{lang: float32 [len(names), D]}``.

    All languages go through the encoder in one call, cached on disk like the dataset's embeddings.
    """
    unknown = [n for n in names if n not in PHOTO_CAPTIONS]
    if unknown:
        raise KeyError(f"no captions for photos {unknown}; known: {sorted(PHOTO_CAPTIONS)}")
    languages = list(languages)
    texts = [PHOTO_CAPTIONS[n][lang] for lang in languages for n in names]
    arr, _ = cached(cache_dir, encoder, texts, lambda: text_encoder(encoder, threads=threads)(texts))
    return {lang: arr[k * len(names):(k + 1) * len(names)] for k, lang in enumerate(languages)}


def subset_rows(n: int, k: int | None, seed: int = 0) -> np.ndarray:
    """A fixed, sorted subset of ``k`` of ``n`` row indices (all rows when ``k`` is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    if k < 1:
        raise ValueError(f"subset size must be positive, got {k}")
    return np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def embed_aligned_captions(captions: dict[str, list[str]], encoder: str, *, cache_dir: str | Path,
                           rows: np.ndarray | None = None, threads: int = 1) -> dict[str, np.ndarray]:
    """Embed line-aligned captions (``{lang: [N captions]}``, e.g. `data.load_xtd10(...).captions`) with caching.

    ``rows`` keeps a subset of the lines (same rows in every language). Returns
    ``{lang: float32 [len(rows), D]}``; each language is cached on its own, keyed by its texts.
    """
    encode = None
    out = {}
    for lang, caps in captions.items():
        caps = list(caps) if rows is None else [caps[i] for i in rows]

        def run(caps_=caps):
            nonlocal encode
            encode = encode or text_encoder(encoder, threads=threads)
            return encode(caps_)

        out[lang], _ = cached(cache_dir, encoder, caps, run)
    return out


# Part of every checkpoint key: bump it when a change to the training code (losses, negative mining,
