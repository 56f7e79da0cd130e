"""Each figure function returns a Figure with the axes and artists it promises."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from companion.crosslingual import figures  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_tsne_2d_is_seeded_and_checks_input():
    x = RNG.normal(size=(30, 8))
    a, b = figures.tsne_2d(x, seed=1, max_iter=250), figures.tsne_2d(x, seed=1, max_iter=250)
    assert a.shape == (30, 2) and np.array_equal(a, b)
    with pytest.raises(ValueError, match="N >= 3"):
        figures.tsne_2d(np.zeros((2, 4)))


def test_image_strip():
    fig = figures.image_strip(RNG.random((3, 8, 8, 3)), ["a", "b", "c"])
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert all(len(ax.images) == 1 for ax in fig.axes)
    with pytest.raises(ValueError, match="2 titles"):
        figures.image_strip(RNG.random((3, 8, 8, 3)), ["a", "b"])


def test_scene_statistics_counts_each_value():
    scenes = pd.DataFrame({"colour": ["red", "red", "blue"], "shape": ["circle"] * 3, "count": [1, 2, 2],
                           "relation": ["left", "above", "left"]})
    fig = figures.scene_statistics(scenes)
    assert len(fig.axes) == 4
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert sorted(heights) == [1, 2]  # blue 1, red 2
    assert [ax.get_title() for ax in fig.axes] == ["colour", "shape", "count", "relation"]


def test_caption_lengths_one_box_per_language():
    fig = figures.caption_lengths({"en": ["abc", "abcd"], "ja": ["ab"], "ko": ["a", "abcdef"]})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["en", "ja", "ko"]
    assert "length" in ax.get_ylabel()


def test_alignment_bars_one_panel_per_encoder():
    alignment = pd.DataFrame({"encoder": ["muse"] * 2 + ["e5"] * 2, "language": ["de", "ja"] * 2,
                              "same image": [0.9, 0.8, 0.85, 0.7], "other image": [0.3, 0.2, 0.4, 0.3]})
    fig = figures.alignment_bars(alignment)
    assert [ax.get_title() for ax in fig.axes] == ["muse", "e5"]
    assert len(fig.axes[0].patches) == 4  # 2 languages x (same, other)


def test_training_curves_panel_per_loss_line_per_encoder():
    hist = [{"epoch": 1, "train_loss": 2.0}, {"epoch": 2, "train_loss": 1.0}]
    fig = figures.training_curves({("muse", "m3l"): hist, ("e5", "m3l"): hist, ("muse", "patr"): hist}, title="t")
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 1
    assert fig.axes[0].get_yscale() == "log"
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.0]


def test_ablation_bars_and_chance_line():
    ab = pd.DataFrame({"knob": ["rho", "rho", "blocks"], "value": [1.0, 4.0, 3],
                       "R@10 non-en mean": [0.3, 0.5, 0.4]})
    fig = figures.ablation_bars(ab, chance=0.1)
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == [0.3, 0.5, 0.4]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(0.1)


def test_recall_by_language_ours_and_paper():
    ours = {"mUSE M3L": {"en": 0.9, "de": 0.7}, "mUSE PATR": {"en": 0.8, "de": 0.6}}
    paper = {"mUSE M3L": {"en": 0.853, "de": 0.735}}
    fig = figures.recall_by_language(ours, chance=0.05, paper=paper, paper_names={"mUSE M3L": "paper-mUSE"})
    ax = fig.axes[0]
    assert "paper: paper-mUSE" in [line.get_label() for line in ax.lines]
    # two ours + one paper (dashed) + chance
    assert len(ax.lines) == 4
    assert sum(line.get_linestyle() == "--" for line in ax.lines) == 1
    assert list(ax.lines[0].get_ydata()) == [0.9, 0.7]


def test_rank1_grid_borders_mark_hits():
    images = RNG.random((4, 6, 6, 3))
    top1 = {"en": np.array([0, 1]), "de": np.array([2, 1])}
    fig = figures.rank1_grid(images[:2], top1, images)
    assert len(fig.axes) == 2 * 3
    green, red = to_rgba("green"), to_rgba("red")
    # row 0: en hit (0 == 0), de miss (2 != 0); row 1: both hit
    assert fig.axes[1].spines["left"].get_edgecolor() == green
    assert fig.axes[2].spines["left"].get_edgecolor() == red
    assert fig.axes[5].spines["left"].get_edgecolor() == green
    assert fig.axes[2].get_title() == "de"
    with pytest.raises(ValueError, match="one rank-1 index"):
        figures.rank1_grid(images[:2], {"en": np.array([0])}, images)


def test_tsne_captions_over_images_two_marker_sets():
    img = RNG.normal(size=(12, 5))
    fig = figures.tsne_captions_over_images(img + 0.1, img, ["a"] * 6 + ["b"] * 6, max_iter=250)
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    assert all(len(c.get_offsets()) == 12 for c in ax.collections)
    with pytest.raises(ValueError, match="must match"):
        figures.tsne_captions_over_images(img, img, ["a"] * 3)


def test_tsne_languages_panel_per_encoder():
    emb = {enc: {lang: RNG.normal(size=(6, 4)) for lang in ("en", "de", "ja")} for enc in ("muse", "e5")}
    fig = figures.tsne_languages(emb, max_iter=250)
    assert [ax.get_title() for ax in fig.axes] == ["muse", "e5"]
    non_en, en = fig.axes[0].collections
    assert len(non_en.get_offsets()) == 12 and len(en.get_offsets()) == 6
    with pytest.raises(ValueError, match="no 'en'"):
        figures.tsne_languages({"muse": {"de": RNG.normal(size=(6, 4))}})


def test_caption_retrieval_bars_one_bar_per_encoder_and_language():
    t = pd.DataFrame({"L→en R@1": [0.9, 0.3]}, index=["de", "ja"])
    fig = figures.caption_retrieval_bars({"muse": t, "e5": t * 0.5}, title="x")
    ax = fig.axes[0]
    assert len(ax.patches) == 4 and [tl.get_text() for tl in ax.get_xticklabels()] == ["de", "ja"]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == pytest.approx([0.15, 0.3, 0.45, 0.9])
    plt.close(fig)
    with pytest.raises(ValueError, match="no column"):
        figures.caption_retrieval_bars({"muse": t}, column="nope")
