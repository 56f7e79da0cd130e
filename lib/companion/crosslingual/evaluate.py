"""Zero-shot retrieval scores: captions in each language -> ranked test images -> Recall@K.

Text→image retrieval as in the paper: for caption i of the 1K test set, rank
all test images by squared Euclidean distance between the mapped caption and
the image feature (nearest first); image i is the only relevant one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from companion.crosslingual.models import map_texts
from companion.metrics.comparison import gap_closed, paired_difference
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


def caption_retrieval_table(embeddings: dict[str, np.ndarray], english: str = "en", ks=(1, 10)) -> pd.DataFrame:
    """Caption→caption retrieval between each language and English (cosine), both directions.

    ``embeddings[lang]`` [N, D], row i of every language describing item i. For
    each non-English language L, "L→en R@k" is the share of L captions whose own
    English caption is among the k English captions nearest to it (among all N),
    and "en→L R@k" the reverse. This measures the premise of zero-shot transfer,
    that the encoder puts a caption next to its translation, with no image in it.
    Ties count against the query (`companion.metrics.retrieval.recall_at_k`).
    """
    if english not in embeddings:
        raise ValueError(f"no {english!r} embeddings to match against")

    def unit(x):
        x = np.asarray(x, np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("an embedding row has zero norm")
        return x / norms

    en = unit(embeddings[english])
    target = list(range(len(en)))
    rows = []
    for lang, x in embeddings.items():
        if lang == english:
            continue
        if np.shape(x) != en.shape:
            raise ValueError(f"{lang}: embeddings {np.shape(x)} do not match English {en.shape}")
        sim = unit(x) @ en.T
        fwd, back = recall_at_k(sim, target, ks=ks), recall_at_k(sim.T, target, ks=ks)
        rows.append({"language": lang, **{f"L→en R@{k}": fwd[k] for k in ks},
                     **{f"en→L R@{k}": back[k] for k in ks}})
    return pd.DataFrame(rows).set_index("language")


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


def nonenglish_mean(r10: dict | pd.Series, english: str = "en") -> float:
    """Mean Recall@10 over the languages other than English (a row of a recall table, or a dict)."""
    r10 = pd.Series(r10, dtype=float)
    return float(r10.drop(english).mean())


def english_ratio(r10: dict | pd.Series, english: str = "en") -> float:
    """Mean non-English Recall@10 over English Recall@10: how "comparable to English" the other languages are."""
    r10 = pd.Series(r10, dtype=float)
    if not r10[english] > 0:
        raise ValueError(f"English Recall@10 is {r10[english]}: the ratio is undefined")
    return nonenglish_mean(r10, english) / float(r10[english])


def headroom_table(baseline: float, ours: float, ceiling: float, *, what: str = "Recall@10",
                   names: tuple[str, str, str] = ("chance", "ours", "ceiling")) -> pd.DataFrame:
    """Baseline, model and ceiling of one measure side by side, with the share of the gap the model closes."""
    return pd.DataFrame({"measure": [what] * 3, "value": [baseline, ours, ceiling],
                         "share of the gap closed": [0.0, gap_closed(ours, baseline, ceiling), 1.0]},
                        index=list(names))


def linear_probe_table(train_features: np.ndarray, train_labels: pd.DataFrame, test_features: np.ndarray,
                       test_labels: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """How much of each caption attribute a linear classifier reads off the frozen image features.

    One logistic regression (standardised features) per column of the label
    frames (e.g. the scenes' count, colour, shape, relation, reference colour and
    shape), fitted on the training images and scored on the test images. The
    majority-class share of the test labels is the chance level: an attribute
    near chance is invisible to the image side, however good the text side.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(train_features) != len(train_labels) or len(test_features) != len(test_labels):
        raise ValueError("features and labels differ in length")
    rows = []
    for col in train_labels.columns:
        y_train, y_test = train_labels[col].astype(str), test_labels[col].astype(str)
        if y_train.nunique() < 2:
            raise ValueError(f"attribute {col!r} has a single value in the training labels")
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.1, random_state=seed))
        clf.fit(train_features, y_train)
        rows.append({"attribute": col, "classes": y_train.nunique(),
                     "probe accuracy": float((clf.predict(test_features) == y_test).mean()),
                     "chance (majority class)": float(y_test.value_counts(normalize=True).iloc[0])})
    return pd.DataFrame(rows).set_index("attribute")


def _per_seed(runs) -> list[pd.Series]:
    """R@10 rows of one configuration's runs (a recall table or a list of them, one per seed)."""
    runs = [runs] if isinstance(runs, pd.DataFrame) else list(runs)
    if not runs:
        raise ValueError("a configuration without runs")
    return [t.loc["R@10"] for t in runs]


def seed_summary(runs: dict[str, list[pd.DataFrame]], english: str = "en") -> pd.DataFrame:
    """One row per configuration: seed-mean Recall@10 per language, then the non-English mean, its seed
    standard deviation and the non-English / English ratio. ``runs[label]`` holds one recall table per seed."""
    rows = {}
    for label, tables in runs.items():
        r10 = pd.DataFrame(_per_seed(tables))
        nonen = r10.drop(columns=english).mean(axis=1)
        rows[label] = {**r10.mean().to_dict(), "non-en mean": float(nonen.mean()),
                       "non-en sd": float(nonen.std(ddof=1)) if len(nonen) > 1 else np.nan,
                       "non-en / en": float(np.mean([english_ratio(r) for r in _per_seed(tables)])),
                       "seeds": len(r10)}
    return pd.DataFrame(rows).T


def metric_suffix(value) -> str:
    """A knob value as part of a registry metric name: ``0.5 -> "0p5"``, strings unchanged."""
    return value if isinstance(value, str) else f"{value:g}".replace(".", "p").replace("-", "m")


def claims_table(tables: dict, table3_ours: dict[str, pd.Series] | None, n_test: int, *, alpha: float = 0.01,
                 level: float = 0.05, close: float = 0.05, ratio_margin: float = 0.05,
                 encoders: dict[str, str] | None = None, table3_steps: dict[str, int] | None = None) -> pd.DataFrame:
    """The paper's claims, each with the paper's evidence, this run's and whether it holds here.

    Parameters
    ----------
    tables : {(encoder, loss): recall_table or [recall_table per seed]}
        Our Table 2 runs (``loss`` in {"m3l", "patr"}); English must be a column.
        Lists must hold the same seeds in the same order for every configuration:
        comparisons are paired by seed.
    table3_ours : {"en,fr,de" | "en": R@10 per language}, optional
        Our Table 3 runs; None leaves the Multi30K claim out. The English-only run
        should have as many optimiser steps as the multilingual one (``table3_steps``
        shows them), or the comparison measures the budget rather than the data.
    n_test : int
        Test images per language (chance level and the binomial test).
    alpha : float
        Level of the one-sided binomial test of "above chance", per language (seed 0's run).
    level : float
        Level of the one-sided paired t-tests over seeds ("M3L beats PATR", "mUSE beats LASER").
    close : float
        How far below multilingual training English-only training may be, in mean
        Recall@10 over German and French, and still count as "close" (the paper's gap is 0.029).
    ratio_margin : float
        "Comparable to English": mean non-English R@10 / English R@10 at least the
        paper's lowest such ratio over its four Table 2 models minus this margin.
    encoders : {ours: paper's}, default {"muse": "mUSE", "e5": "LASER"}

    The criteria are ours, written out in the "criterion" column: the paper states
    its claims in words ("well above chance", "comparable", "improves").
    """
    from scipy.stats import binomtest

    from companion.crosslingual.paper import table2, table3

    if not tables:
        raise ValueError("no Table 2 runs to check the claims on")
    encoders = encoders or {"muse": "mUSE", "e5": "LASER"}
    paper2 = {key: nonenglish_mean(v) for key, v in table2().items()}
    paper_other = [x for v in table2().values() for lang, x in v.items() if lang != "en"]
    seeds = {key: _per_seed(v) for key, v in tables.items()}
    lengths = {len(v) for v in seeds.values()}
    if len(lengths) != 1:
        raise ValueError(f"every configuration needs the same number of seeds, got {sorted(lengths)}")
    n_seeds = lengths.pop()
    rows = []

    def seed_note():
        return f" ({n_seeds} seeds)" if n_seeds > 1 else " (1 seed)"

    # 1. zero-shot transfer works: every non-English language above chance (first seed's run, counts of hits)
    key = next(((e, "m3l") for e in encoders if (e, "m3l") in seeds), next(iter(seeds)))
    r10 = seeds[key][0].drop("en")
    chance = chance_recall(n_test, 10)
    p = {lang: binomtest(int(round(v * n_test)), n_test, chance, alternative="greater").pvalue
         for lang, v in r10.items()}
    worst = min(r10.items(), key=lambda kv: kv[1])
    rows.append({"claim": "trained on English only, every other language retrieves far above chance",
                 "paper": f"R@10 {min(paper_other):.2f}-{max(paper_other):.2f} vs chance 0.01",
                 "this run": f"{encoders.get(key[0], key[0])} {key[1].upper()}: lowest {worst[0]} {worst[1]:.3f} "
                             f"vs chance {chance:.3f}; largest p = {max(p.values()):.1g}",
                 "criterion": f"one-sided binomial test per language, p < {alpha:g}",
                 "holds": all(v < alpha for v in p.values())})

    # 1b. ... and "comparable to English": the non-English / English ratio
    paper_ratios = {k: english_ratio(v) for k, v in table2().items()}
    threshold = min(paper_ratios.values()) - ratio_margin
    ratios = [english_ratio(r) for r in seeds[key]]
    paper_key = (encoders.get(key[0], key[0]), key[1].upper())
    rows.append({"claim": "the other languages' Recall@10 is comparable to English",
                 "paper": f"mean non-English / English R@10 {paper_ratios.get(paper_key, np.nan):.2f} "
                          f"({paper_key[0]} {paper_key[1]}); {min(paper_ratios.values()):.2f}-"
                          f"{max(paper_ratios.values()):.2f} over its four models",
                 "this run": f"{encoders.get(key[0], key[0])} {key[1].upper()}: ratio {np.mean(ratios):.2f}"
                             + (f" (seeds {min(ratios):.2f}-{max(ratios):.2f})" if n_seeds > 1 else ""),
                 "criterion": f"seed-mean ratio >= the paper's lowest ratio - {ratio_margin:g} = {threshold:.2f}",
                 "holds": bool(np.mean(ratios) >= threshold)})

    def compare(claim, a_key, b_key, paper_text, criterion_what):
        a = [nonenglish_mean(r) for r in seeds[a_key]]
        b = [nonenglish_mean(r) for r in seeds[b_key]]
        d = paired_difference(a, b)
        text = f"{np.mean(a):.3f} vs {np.mean(b):.3f}; diff {d['diff']:+.3f}"
        if n_seeds > 1:
            text += f" [{d['lo']:+.3f}, {d['hi']:+.3f}], p = {d['p']:.2g}"
            holds = d["diff"] > 0 and d["p"] < level
            crit = f"{criterion_what}: one-sided paired t-test over seeds, p < {level:g}"
        else:
            holds = d["diff"] > 0
            crit = f"{criterion_what}: larger (one seed, no test)"
        rows.append({"claim": claim, "paper": paper_text, "this run": text + seed_note(), "criterion": crit,
                     "holds": bool(holds)})

    # 2. M3L beats PATR, per encoder (mean non-English R@10)
    for enc, name in encoders.items():
        if (enc, "m3l") in seeds and (enc, "patr") in seeds:
            compare(f"M3L beats PATR ({name})", (enc, "m3l"), (enc, "patr"),
                    f"{paper2[(name, 'M3L')]:.3f} vs {paper2[(name, 'PATR')]:.3f}", "mean non-English R@10, M3L > PATR")

    # 3. mUSE beats LASER, per loss
    (e1, n1), (e2, n2) = list(encoders.items())[:2]
    for loss in ("m3l", "patr"):
        if (e1, loss) in seeds and (e2, loss) in seeds:
            compare(f"{n1} beats {n2} ({loss.upper()})", (e1, loss), (e2, loss),
                    f"{paper2[(n1, loss.upper())]:.3f} vs {paper2[(n2, loss.upper())]:.3f}"
                    + (f" (our {n2} stand-in: {e2})" if e2 != n2.lower() else ""),
                    f"mean non-English R@10, {n1} > {n2}")

    # 4. Multi30K: English-only training close to multilingual training in de and fr
    if table3_ours is not None:
        if set(table3_ours) != {"en,fr,de", "en"}:
            raise ValueError(f"table3_ours needs runs 'en,fr,de' and 'en', got {sorted(table3_ours)}")
        t3 = table3()

        def gap(multi, en_only):
            return float(np.mean([multi[lang] - en_only[lang] for lang in ("de", "fr")]))

        ours_gap = gap(table3_ours["en,fr,de"], table3_ours["en"])
        paper_gap = gap(t3[("Ours (mUSE + M3L)", "en,fr,de")], t3[("Ours (mUSE + M3L)", "en")])
        steps = (f" at {table3_steps['en']} vs {table3_steps['en,fr,de']} optimiser steps"
                 if table3_steps else "")
        rows.append({"claim": "on Multi30K, English-only training is close to training on en+de+fr",
                     "paper": f"gap {paper_gap:.3f}", "this run": f"gap {ours_gap:.3f}{steps}",
                     "criterion": f"mean (multilingual - English-only) R@10 over de, fr <= {close:g}",
                     "holds": ours_gap <= close})
    return pd.DataFrame(rows)
