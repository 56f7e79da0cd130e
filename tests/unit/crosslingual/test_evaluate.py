import numpy as np
import pandas as pd
import pytest
import torch

from companion.crosslingual.evaluate import caption_match_rank1, chance_recall, image_clusters, rank1, recall_table


class _Identity(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))  # map_texts needs a parameter for the device

    def forward(self, x):
        return x


def test_rank1_and_recall_on_a_known_map():
    image = np.eye(4, dtype=np.float32) * 3
    # "de": rows 2 and 3 mostly swapped -> two misses at rank 1, own image second
    text = {"en": image.copy(), "de": 0.6 * image[[0, 1, 3, 2]] + 0.4 * image}
    top = rank1(_Identity(), text, image)
    assert top["en"].tolist() == [0, 1, 2, 3]
    assert top["de"].tolist() == [0, 1, 3, 2]
    assert rank1(_Identity(), text, image, rows=[2])["de"].tolist() == [3]
    table = recall_table(_Identity(), text, image, ks=(1, 2))
    assert table.loc["R@1", "en"] == 1.0 and table.loc["R@1", "de"] == 0.5 and table.loc["R@2", "de"] == 1.0
    assert chance_recall(1000, 10) == 0.01


def test_caption_match_rank1():
    en = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out = caption_match_rank1({"en": en, "xx": en[[1, 0, 2]] * 5})
    assert out["en"].tolist() == [0, 1, 2]
    assert out["xx"].tolist() == [1, 0, 2]  # cosine: scale does not matter
    with pytest.raises(ValueError, match="no 'en'"):
        caption_match_rank1({"de": en})
    with pytest.raises(ValueError, match="do not match"):
        caption_match_rank1({"en": en, "de": en[:2]})


def test_image_clusters_separate_blobs_and_are_seeded():
    g = np.random.default_rng(0)
    x = np.concatenate([g.normal(0, 0.1, (10, 3)), g.normal(5, 0.1, (10, 3))])
    labels = image_clusters(x, k=2, seed=0)
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]
    assert np.array_equal(labels, image_clusters(x, k=2, seed=0))


def test_caption_alignment_same_vs_other_image():
    from companion.crosslingual.evaluate import caption_alignment
    en = np.array([[1.0, 0.0], [0.0, 1.0]])
    table = caption_alignment({"muse": {"en": en, "de": 2 * en, "ja": en[[1, 0]]}})
    de = table[table.language == "de"].iloc[0]
    ja = table[table.language == "ja"].iloc[0]
    assert (de["same image"], de["other image"]) == pytest.approx((1.0, 0.0))
    assert (ja["same image"], ja["other image"]) == pytest.approx((0.0, 1.0))
    assert list(table.encoder) == ["muse", "muse"]


def _r10_table(en, others):
    from companion.crosslingual.grammar import LANGUAGES

    values = {"en": en, **{lang: others for lang in LANGUAGES[1:]}}
    return pd.DataFrame({lang: {"R@1": v / 3, "R@5": v / 2, "R@10": v} for lang, v in values.items()})


def test_claims_table_judges_each_claim_from_the_numbers():
    from companion.crosslingual.evaluate import claims_table

    tables = {("muse", "m3l"): _r10_table(0.8, 0.6), ("muse", "patr"): _r10_table(0.9, 0.5),
              ("e5", "m3l"): _r10_table(0.7, 0.4), ("e5", "patr"): _r10_table(0.7, 0.45)}
    t3 = {"en,fr,de": pd.Series({"en": 0.6, "de": 0.5, "fr": 0.5}),
          "en": pd.Series({"en": 0.6, "de": 0.48, "fr": 0.49})}
    claims = claims_table(tables, t3, n_test=300).set_index("claim")["holds"]
    assert claims["trained on English only, every other language retrieves far above chance"]
    assert claims["M3L beats PATR (mUSE)"] and not claims["M3L beats PATR (LASER)"]
    assert claims["mUSE beats LASER (M3L)"] and claims["mUSE beats LASER (PATR)"]
    assert claims["on Multi30K, English-only training is close to training on en+de+fr"]

    # at chance (10 of 300) nothing is "far above chance"; a 0.3 gap is not "close"
    tables[("muse", "m3l")] = _r10_table(0.8, 10 / 300)
    t3["en"] = pd.Series({"en": 0.3, "de": 0.2, "fr": 0.2})
    claims = claims_table(tables, t3, n_test=300).set_index("claim")["holds"]
    assert not claims["trained on English only, every other language retrieves far above chance"]
    assert not claims["on Multi30K, English-only training is close to training on en+de+fr"]
    assert len(claims_table(tables, None, n_test=300)) == 6


def test_claims_table_with_seeds_pairs_them_and_tests_the_ratio():
    from companion.crosslingual.evaluate import claims_table

    # M3L ahead of PATR by 0.02 +- 0.005 on three seeds: a consistent paired gain
    m3l = [_r10_table(0.8, 0.60 + d) for d in (0.0, 0.01, -0.01)]
    patr = [_r10_table(0.8, 0.58 + d) for d in (0.004, 0.01, -0.013)]
    tables = {("muse", "m3l"): m3l, ("muse", "patr"): patr}
    claims = claims_table(tables, None, n_test=300).set_index("claim")
    assert claims.loc["M3L beats PATR (mUSE)", "holds"]
    assert "p = " in claims.loc["M3L beats PATR (mUSE)", "this run"]
    # ratio 0.6 / 0.8 = 0.75 < the paper's lowest (about 0.85) - 0.05: not comparable
    assert not claims.loc["the other languages' Recall@10 is comparable to English", "holds"]
    tables[("muse", "m3l")] = [_r10_table(0.8, 0.70 + d) for d in (0.0, 0.01, -0.01)]
    claims = claims_table(tables, None, n_test=300).set_index("claim")["holds"]
    assert claims["the other languages' Recall@10 is comparable to English"]
    # a gain on one seed and a loss on two does not hold
    tables[("muse", "m3l")] = [_r10_table(0.8, 0.58 + d) for d in (0.05, -0.01, -0.02)]
    assert not claims_table(tables, None, n_test=300).set_index("claim")["holds"]["M3L beats PATR (mUSE)"]
    with pytest.raises(ValueError, match="same number of seeds"):
        claims_table({("muse", "m3l"): m3l, ("muse", "patr"): patr[:2]}, None, n_test=300)


def test_paired_difference_ratio_and_gap_closed():
    from companion.crosslingual.evaluate import english_ratio, gap_closed, metric_suffix, paired_difference

    d = paired_difference([0.5, 0.6, 0.7], [0.4, 0.5, 0.65])
    assert d["diff"] == pytest.approx(0.0833, abs=1e-3) and d["lo"] < d["diff"] < d["hi"] and d["p"] < 0.05
    assert np.isnan(paired_difference([0.5], [0.4])["p"])
    with pytest.raises(ValueError, match="equal-length"):
        paired_difference([0.5, 0.6], [0.4])
    assert english_ratio(pd.Series({"en": 0.8, "de": 0.4, "fr": 0.8})) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="undefined"):
        english_ratio(pd.Series({"en": 0.0, "de": 0.4}))
    assert gap_closed(0.5, 0.1, 0.9) == pytest.approx(0.5)
    assert np.isnan(gap_closed(0.5, 0.5, 0.5))
    assert metric_suffix(0.5) == "0p5" and metric_suffix("random") == "random"


def test_claims_table_rejects_missing_runs():
    from companion.crosslingual.evaluate import claims_table

    with pytest.raises(ValueError, match="no Table 2 runs"):
        claims_table({}, None, n_test=300)
    with pytest.raises(ValueError, match="table3_ours"):
        claims_table({("muse", "m3l"): _r10_table(0.8, 0.6)}, {"en": pd.Series(dtype=float)}, n_test=300)
    with pytest.raises(ValueError, match="without runs"):
        claims_table({("muse", "m3l"): []}, None, n_test=300)


def test_caption_retrieval_table_both_directions_and_bad_input():
    from companion.crosslingual.evaluate import caption_retrieval_table

    en = np.eye(4)
    # "de" finds its twin for rows 0, 1; rows 2 and 3 are swapped; "fr" is a perfect copy
    de = en[[0, 1, 3, 2]] + 0.01
    table = caption_retrieval_table({"en": en, "de": de, "fr": en * 3.0}, ks=(1, 2))
    assert list(table.index) == ["de", "fr"]
    assert table.loc["de", "L→en R@1"] == 0.5 and table.loc["de", "en→L R@1"] == 0.5
    assert table.loc["fr", "L→en R@1"] == 1.0 and table.loc["fr", "en→L R@2"] == 1.0
    with pytest.raises(ValueError, match="no 'en' embeddings"):
        caption_retrieval_table({"de": de})
    with pytest.raises(ValueError, match="de: embeddings"):
        caption_retrieval_table({"en": en, "de": de[:3]})
    with pytest.raises(ValueError, match="zero norm"):
        caption_retrieval_table({"en": en, "de": np.zeros((4, 4))})


def test_subset_rows_is_fixed_and_sorted():
    from companion.crosslingual.features import subset_rows

    a, b = subset_rows(1000, 300, seed=0), subset_rows(1000, 300, seed=0)
    assert (a == b).all() and len(set(a)) == 300 and (np.diff(a) > 0).all()
    assert (subset_rows(5, None) == np.arange(5)).all() and (subset_rows(5, 9) == np.arange(5)).all()
    with pytest.raises(ValueError, match="positive"):
        subset_rows(5, 0)


def test_seed_summary_means_and_spread():
    from companion.crosslingual.evaluate import seed_summary

    summary = seed_summary({"a": [_r10_table(0.8, 0.4), _r10_table(0.8, 0.6)], "b": [_r10_table(0.5, 0.5)]})
    assert summary.loc["a", "non-en mean"] == pytest.approx(0.5) and summary.loc["a", "de"] == pytest.approx(0.5)
    assert summary.loc["a", "non-en sd"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    assert summary.loc["a", "non-en / en"] == pytest.approx(0.625) and summary.loc["a", "seeds"] == 2
    assert np.isnan(summary.loc["b", "non-en sd"]) and summary.loc["b", "non-en / en"] == pytest.approx(1.0)


def test_seeds_to_resolve_and_headroom_table():
    from companion.crosslingual.evaluate import headroom_table, paired_difference

    noisy = paired_difference([0.50, 0.56, 0.47], [0.49, 0.50, 0.50])
    clear = paired_difference([0.60, 0.61, 0.62], [0.50, 0.50, 0.52])
    assert noisy["seeds to resolve"] > 3 and clear["seeds to resolve"] <= 3
    t = headroom_table(0.1, 0.5, 0.9)
    assert t.loc["ours", "share of the gap closed"] == pytest.approx(0.5) and list(t.index) == ["chance", "ours", "ceiling"]


def test_linear_probe_reads_a_visible_attribute_and_not_an_invisible_one():
    from companion.crosslingual.evaluate import linear_probe_table

    g = np.random.default_rng(0)
    n = 200
    colour = g.integers(0, 2, n)
    hidden = g.integers(0, 2, n)
    x = np.c_[colour * 3.0 + g.normal(size=n), g.normal(size=(n, 5))]
    labels = pd.DataFrame({"colour": colour, "hidden": hidden})
    t = linear_probe_table(x[:150], labels[:150], x[150:], labels[150:])
    assert t.loc["colour", "probe accuracy"] > 0.85
    assert t.loc["hidden", "probe accuracy"] < 0.7 and t.loc["colour", "classes"] == 2
    with pytest.raises(ValueError, match="single value"):
        linear_probe_table(x[:10], pd.DataFrame({"c": [1] * 10}), x[:5], pd.DataFrame({"c": [1] * 5}))
