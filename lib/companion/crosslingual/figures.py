"""Figures of the chapter: each function draws one idea and returns the `matplotlib.figure.Figure`.

The paper's figures: `rank1_grid` (Fig. 2, the rank-1 image per query language,
green border when it is the caption's own image), `tsne_captions_over_images`
(Fig. 3, mapped captions of one language over the image features) and
`tsne_languages` (Fig. 4, non-English over English sentence embeddings, one
panel per encoder). The rest are the chapter's plots (data statistics, text
alignment, training curves, ablations, Recall@K per language).

Figures only draw: rankings, recalls and clusters are computed by
`companion.crosslingual.evaluate` and passed in; the one computation done
here is the 2-D t-SNE layout (`tsne_2d`), which is part of drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from companion.core.figures import training_curves as core_training_curves


def tsne_2d(x: np.ndarray, seed: int = 0, max_iter: int = 300, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE layout of ``x`` [N, D] -> float [N, 2], deterministic given ``seed``.

    Exact t-SNE below 1,000 points (faster than Barnes–Hut there, and no
    approximation); perplexity is capped at ``N - 1``.
    """
    from sklearn.manifold import TSNE

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"t-SNE needs [N >= 3, D] points, got {x.shape}")
    return TSNE(n_components=2, perplexity=min(perplexity, len(x) - 1), random_state=seed, init="pca",
                max_iter=max_iter, method="exact" if len(x) < 1000 else "barnes_hut").fit_transform(x)


# ----------------------------------------------------------------------------- data (notebook 1)
def image_strip(images: np.ndarray, titles: Sequence[str], fontsize: int = 7) -> Figure:
    """Images [N, H, W, 3] side by side, each with its title (a caption)."""
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images for {len(titles)} titles")
    fig, axes = plt.subplots(1, len(images), figsize=(2.5 * len(images), 2.8), squeeze=False)
    for ax, im, title in zip(axes[0], images, titles):
        ax.imshow(im)
        ax.set_title(title, fontsize=fontsize, wrap=True)
        ax.axis("off")
    return fig


def scene_statistics(scenes: pd.DataFrame, columns=("colour", "shape", "count", "relation")) -> Figure:
    """One bar chart per scene attribute: how many images have each value."""
    fig, axes = plt.subplots(1, len(columns), figsize=(2.8 * len(columns), 2.5), squeeze=False)
    for ax, col in zip(axes[0], columns):
        counts = scenes[col].value_counts().sort_index()
        ax.bar([str(v) for v in counts.index], counts.to_numpy())
        ax.set_title(col)
        ax.set_ylabel("images")
        ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    return fig


def caption_lengths(captions: Mapping[str, Sequence[str]]) -> Figure:
    """Box plot of caption length in characters, one box per language."""
    langs = list(captions)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.boxplot([[len(c) for c in captions[lang]] for lang in langs])
    ax.set_xticks(range(1, len(langs) + 1), langs)
    ax.set_xlabel("language")
    ax.set_ylabel("caption length (characters)")
    return fig


# ----------------------------------------------------------------------------- model (notebook 2)
def alignment_bars(alignment: pd.DataFrame) -> Figure:
    """Mean cosine of each language's caption to the English caption: same image vs another image.

    ``alignment`` has columns ``encoder``, ``language``, ``same image``,
    ``other image`` (one row per encoder and language); one panel per encoder.
    """
    encoders = list(dict.fromkeys(alignment["encoder"]))
    fig, axes = plt.subplots(1, len(encoders), figsize=(5 * len(encoders), 3), squeeze=False, sharey=True)
    for ax, enc in zip(axes[0], encoders):
        sub = alignment[alignment["encoder"] == enc]
        x = np.arange(len(sub))
        ax.bar(x - 0.2, sub["same image"], width=0.4, label="same image")
        ax.bar(x + 0.2, sub["other image"], width=0.4, label="other image")
        ax.set_xticks(x, list(sub["language"]))
        ax.set_title(enc)
        ax.set_xlabel("caption language")
        ax.set_ylabel("cosine to the English caption")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def caption_retrieval_bars(tables: Mapping[str, pd.DataFrame], column: str = "L→en R@1", *,
                           title: str = "") -> Figure:
    """Grouped bars of one column of `evaluate.caption_retrieval_table` per language, one bar per encoder."""
    if not tables:
        raise ValueError("no caption-retrieval tables to draw")
    languages = list(next(iter(tables.values())).index)
    width = 0.8 / len(tables)
    fig, ax = plt.subplots(figsize=(8, 3))
    x = np.arange(len(languages))
    for k, (label, table) in enumerate(tables.items()):
        if column not in table:
            raise ValueError(f"{label}: no column {column!r}; have {list(table.columns)}")
        ax.bar(x + (k - (len(tables) - 1) / 2) * width, table.loc[languages, column], width=width, label=label)
    ax.set_xticks(x, languages)
    ax.set_xlabel("query language L (its English twin is the target)")
    ax.set_ylabel(column)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="lower left")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- training (notebook 3)
def training_curves(histories: Mapping[tuple[str, str], Sequence[Mapping]], title: str = "") -> Figure:
    """Training loss per epoch; one panel per loss (their scales differ), one line per encoder, log axis.

    ``histories[(encoder, loss)]`` is `TrainResult.history` (dicts with ``epoch`` and ``train_loss``).
    """
    losses = list(dict.fromkeys(loss for _, loss in histories))
    fig, axes = plt.subplots(1, len(losses), figsize=(5 * len(losses), 3.2), squeeze=False)
    for ax, loss in zip(axes[0], losses):
        core_training_curves({enc: hist for (enc, l), hist in histories.items() if l == loss}, ax=ax, logy=True,
                             ylabel=f"{loss.upper()} training loss")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- ablations (notebook 4)
def ablation_bars(ablations: pd.DataFrame, chance: float, score: str = "R@10 non-en mean",
                  title: str = "") -> Figure:
    """Horizontal bars, one per (knob, value) row of ``ablations``, with the chance level dotted."""
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(ablations) + 1.5))
    labels = [f"{k}={v}" for k, v in zip(ablations["knob"], ablations["value"])]
    ax.barh(labels, ablations[score])
    ax.axvline(chance, color="k", ls=":", label="chance")
    ax.set_xlabel("Recall@10, mean over the 10 non-English languages")
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- evaluation (notebook 5)
def recall_by_language(recalls: Mapping[str, Mapping[str, float]], chance: float, *,
                       paper: Mapping[str, Mapping[str, float]] | None = None,
                       paper_names: Mapping[str, str] | None = None, k: int = 10, title: str = "") -> Figure:
    """Recall@k per query language, one line per system; the paper's numbers dashed when given.

    ``recalls[system][lang]`` (ours) and ``paper[system][lang]`` (reported, keyed
    by the system of ours it corresponds to, drawn in the same colour and
    labelled ``paper_names[system]`` when given, e.g. LASER for our e5 stand-in).
    """
    fig, ax = plt.subplots(figsize=(9, 3.6))
    langs = list(next(iter(recalls.values())))
    for i, (system, r) in enumerate(recalls.items()):
        ax.plot(langs, [r[lang] for lang in langs], marker="o", color=f"C{i}", label=f"ours: {system}")
        if paper and system in paper:
            ax.plot(langs, [paper[system].get(lang, np.nan) for lang in langs], ls="--", color=f"C{i}",
                    alpha=0.6, label=f"paper: {(paper_names or {}).get(system, system)}")
    ax.axhline(chance, color="k", ls=":", label="chance")
    ax.set_xlabel("query language")
    ax.set_ylabel(f"Recall@{k}")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- qualitative (notebook 6)
def rank1_grid(query_images: np.ndarray, top1: Mapping[str, Sequence[int]], images: np.ndarray,
               queries: Sequence[int] | None = None) -> Figure:
    """Fig. 2: for each query (row), its own image then the rank-1 image for each language (columns).

    Parameters
    ----------
    query_images : [Q, H, W, 3]
        The image each query caption describes.
    top1 : {lang: [Q] int}
        Index into ``images`` of the rank-1 image for query q in that language.
    images : [N, H, W, 3]
        The gallery.
    queries : [Q] int, optional
        Gallery index of each query's own image (default ``0..Q-1``); a
        rank-1 image equal to it gets a green border, otherwise red.
    """
    langs = list(top1)
    n_q = len(query_images)
    queries = list(range(n_q)) if queries is None else list(queries)
    if len(queries) != n_q or any(len(top1[lang]) != n_q for lang in langs):
        raise ValueError(f"need one rank-1 index per query ({n_q}) and language")
    fig, axes = plt.subplots(n_q, len(langs) + 1, figsize=(1.2 * (len(langs) + 1), 1.35 * n_q), squeeze=False)
    for row in range(n_q):
        axes[row, 0].imshow(query_images[row])
        axes[row, 0].set_title("query's image", fontsize=6)
        for col, lang in enumerate(langs, start=1):
            top = int(top1[lang][row])
            ax = axes[row, col]
            ax.imshow(images[top])
            ax.set_title(lang, fontsize=7)
            for spine in ax.spines.values():
                spine.set_edgecolor("green" if top == queries[row] else "red")
                spine.set_linewidth(3)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def tsne_captions_over_images(mapped_text: np.ndarray, image: np.ndarray, labels: Sequence, *,
                              language: str = "Italian", seed: int = 0, max_iter: int = 300,
                              palette: Mapping | None = None) -> Figure:
    """Fig. 3: t-SNE of mapped captions ("o") overlaid on image features ("x"), coloured by ``labels``.

    Row i of ``mapped_text`` describes row i of ``image``; ``labels[i]`` is the
    group of image i (the paper: clusters of the image features).
    """
    if len(mapped_text) != len(image) or len(labels) != len(image):
        raise ValueError(f"{len(mapped_text)} captions, {len(image)} images, {len(labels)} labels: must match")
    n = len(image)
    points = tsne_2d(np.concatenate([mapped_text, image]), seed=seed, max_iter=max_iter)
    groups = list(dict.fromkeys(labels))
    palette = dict(palette or {})
    colours = [palette.get(g, f"C{groups.index(g) % 10}") for g in labels]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(*points[:n].T, c=colours, marker="o", s=14, label=f"{language} caption (mapped)")
    ax.scatter(*points[n:].T, c=colours, marker="x", s=14, label="image")
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.legend(fontsize=8)
    return fig


def tsne_languages(embeddings: Mapping[str, Mapping[str, np.ndarray]], english: str = "en", *, seed: int = 0,
                   max_iter: int = 300) -> Figure:
    """Fig. 4: per encoder, t-SNE of non-English sentence embeddings ("x") over English ones ("o").

    ``embeddings[encoder][lang]`` [N, D]; one panel per encoder.
    """
    encoders = list(embeddings)
    fig, axes = plt.subplots(1, len(encoders), figsize=(5 * len(encoders), 4), squeeze=False)
    for ax, enc in zip(axes[0], encoders):
        by_lang = embeddings[enc]
        if english not in by_lang:
            raise ValueError(f"encoder {enc}: no {english!r} embeddings")
        en = by_lang[english]
        others = [v for lang, v in by_lang.items() if lang != english]
        pts = tsne_2d(np.concatenate([en, *others]), seed=seed, max_iter=max_iter)
        n = len(en)
        ax.scatter(*pts[n:].T, marker="x", s=6, c="tab:gray", alpha=0.5, label="non-English")
        ax.scatter(*pts[:n].T, marker="o", s=10, c="tab:blue", label="English")
        ax.set_title(enc)
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
        ax.legend(fontsize=8)
    return fig
