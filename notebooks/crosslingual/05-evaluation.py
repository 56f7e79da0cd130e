# %% [markdown]
# # 5. Evaluation: Table 2, zero-shot Recall@K in eleven languages
#
# Every model is trained on English captions only. Each test caption, in each language, is
# mapped by the MLP and the test images are ranked by squared Euclidean distance;
# Recall@K (`companion.metrics.retrieval.recall_at_k`) counts captions whose own
# image is in the top K. English, the language the model was trained in, is the ceiling.
#
# **Equal, tuned budgets.** Which loss wins depends on how long each is trained: at a
# fixed short budget one loss may simply converge sooner. Every configuration here
# therefore gets the same maximum number of epochs and a validation split of the
# training images (a fixed share, the same for every run, with their English captions
# only); after each epoch the English caption→image Recall@1 on it is measured and
# the weights of the best epoch are kept (`train.train_early_stopped`; training stops
# once `patience` epochs bring no new best). The learning rate is chosen the same way
# for each loss, from a small grid, on seed 0's validation score. No non-English caption
# is used to choose anything. Each configuration runs with several seeds, and comparisons
# are paired by seed. The runs are independent, so they train in `workers` processes at once
# (`train.early_stopped_runs`; each process uses one thread, so the numbers are those of a
# serial run).

# %% tags=["remove-cell"]
# Installs the book's library when it is missing (Colab, a fresh Jupyter); does nothing otherwise.
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

if importlib.util.find_spec("companion") is None:
    source = os.environ.get("COMPANION_SOURCE", "https://github.com/companion-book/five-papers")
    clone = Path(os.environ.get("COMPANION_CLONE_DIR", Path.home() / "companion-book"))
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth", "1", source, str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{clone / 'lib'}[notebook]"], check=True)
    sys.path.insert(0, str(clone / "lib"))
    print(f"installed the companion library from {source} into {clone}")

# %% tags=["parameters"]
profile = "default"
seed = 0
device = "auto"
n_train = 1000
n_test = 300
image_size = 96
captions_per_image = 2
encoders = ["muse", "e5"]
epochs = 20
batch_size = 128
lr = 0.0003
beta1 = 0.9
m30k_train = 400
m30k_test = 300
seeds = [0, 1, 2]
es_epochs = 100
patience = 10
val_fraction = 0.15
lr_grid = [0.0003, 0.001]
workers = 2

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.book.claims import record_claims
from companion.book.paths import cache_dir
from companion.core import select_device
from companion.crosslingual.features import chapter_features
from companion.crosslingual.grammar import LANGUAGES

dev = select_device(device)
feats = chapter_features(profile, n_train=n_train, n_test=n_test, seed=seed, image_size=image_size,
                         captions_per_image=captions_per_image, encoders=encoders)
root, encoders_run, data_desc = feats.root, feats.encoders, feats.description

# %% [markdown]
# ## The learning rate, chosen per loss on the validation split
# Seed 0, mUSE, each loss at each learning rate of the grid, early-stopped like every run below;
# each loss then trains with the learning rate of its best English validation Recall@1.

# %%
import time

from companion.crosslingual.train import TrainConfig, early_stopped_runs

ckpt = cache_dir("crosslingual-checkpoints")
es_kw = dict(val_fraction=val_fraction, patience=patience, device=device, workers=workers)
main_enc = encoders_run[0]
started = time.perf_counter()
tune_cfgs = [TrainConfig(encoder=main_enc, loss=loss, epochs=es_epochs, batch_size=batch_size, lr=x, beta1=beta1,
                         seed=seeds[0]) for loss in ("m3l", "patr") for x in lr_grid]
tuning = pd.DataFrame([{"loss": c.loss, "lr": c.lr, "best epoch": r.best_epoch, "epochs run": len(r.history),
                        "val R@1 (English)": max(h["val_R@1"] for h in r.history)}
                       for c, r in zip(tune_cfgs, early_stopped_runs(tune_cfgs, feats, ckpt, **es_kw))])
chosen_lr = tuning.loc[tuning.groupby("loss")["val R@1 (English)"].idxmax()].set_index("loss")["lr"].to_dict()
tuning_seconds = time.perf_counter() - started
print("learning rate per loss:", chosen_lr)
tuning.round({"val R@1 (English)": 3})

# %%
from companion.crosslingual.evaluate import recall_table, seed_summary

names = {"muse": "mUSE", "e5": "e5 (LASER stand-in)"}
main = f"{names[main_enc]} M3L"
# the paper's row order (LASER PATR, mUSE PATR, LASER M3L, mUSE M3L), then two ablation rows of the main model:
# rho = 1 (the loss form without the power) and alpha2 = 0 (no negative-text term)
plan = [(f"{names[enc]} {loss.upper()}", enc, {"loss": loss})
        for loss in ("patr", "m3l") for enc in ("e5", "muse") if enc in encoders_run]
plan += [(f"{main}, rho = 1", main_enc, {"loss": "m3l", "rho": 1.0}),
         (f"{main}, alpha2 = 0", main_enc, {"loss": "m3l", "alpha2": 0.0})]
cfgs = [(label, s, TrainConfig(encoder=enc, epochs=es_epochs, batch_size=batch_size, lr=chosen_lr[knobs["loss"]],
                               beta1=beta1, seed=s, **knobs))
        for label, enc, knobs in plan for s in seeds]
started = time.perf_counter()
trained = early_stopped_runs([c for _, _, c in cfgs], feats, ckpt, **es_kw)
table2_seconds = time.perf_counter() - started
runs, stops = {label: [] for label, _, _ in plan}, []
for (label, s, cfg), run in zip(cfgs, trained):
    runs[label].append(recall_table(run.model, feats.test_text[cfg.encoder], feats.test_image))
    stops.append({"configuration": label, "seed": s, "lr": cfg.lr, "best epoch": run.best_epoch,
                  "optimiser steps": run.best_steps, "epochs run": len(run.history),
                  "val R@1 (English)": max(h["val_R@1"] for h in run.history)})
tables = {(enc, knobs["loss"]): runs[label] for label, enc, knobs in plan if set(knobs) == {"loss"}}
summary = seed_summary(runs)
print(f"{len(seeds)} seeds {seeds}; at most {es_epochs} epochs, patience {patience}; validation: "
      f"{run.n_val_images} training images held out ({run.n_train_rows} training captions left); "
      f"{len(cfgs)} runs in {table2_seconds:.0f} s with {workers} worker(s) (learning-rate grid: {tuning_seconds:.0f} s)")

# %% [markdown]
# ## Recall@10, in the layout and row order of the paper's Table 2 (ours, then the paper's)
# Seed means; `non-en sd` is the standard deviation of the non-English mean over seeds, and
# `non-en / en` the ratio the paper's "comparable to English" is about.

# %%
summary[[*LANGUAGES, "non-en mean", "non-en sd", "non-en / en", "seeds"]].astype(float).round(3)

# %%
from companion.crosslingual.evaluate import english_ratio
from companion.crosslingual.paper import table2

paper_enc = {"muse": "mUSE", "e5": "LASER"}
reported = pd.DataFrame({f"paper: {paper_enc[enc]} {loss.upper()}": {**table2()[(paper_enc[enc], loss.upper())],
                                                                     "non-en / en": english_ratio(
                                                                         table2()[(paper_enc[enc], loss.upper())])}
                         for (enc, loss) in tables}).T
reported[[*LANGUAGES, "non-en / en"]].round(3)

# %% [markdown]
# Where each run stopped (the epoch of its best English validation Recall@1):

# %%
stops = pd.DataFrame(stops)
stops["still improving at the cap"] = stops["best epoch"] > es_epochs - patience
n_capped = int(stops["still improving at the cap"].sum())
stops.groupby("configuration", sort=False)[["best epoch", "optimiser steps", "epochs run", "val R@1 (English)",
                                            "still improving at the cap"]].agg(["mean", "min", "max"]).round(3)

# %% [markdown]
# A run whose best epoch falls within the last `patience` epochs before the cap never
# triggered early stopping: it was still improving when the budget ran out, and for it the
# comparison remains one of budgets rather than of converged losses. In this run
# {glue:text}`n_runs_capped:.0f` of {glue:text}`n_runs:.0f` runs were still improving at the cap
# (column `still improving at the cap`, per configuration). The cap is meant to sit well above
# the slowest configuration's best epoch (the exercise on [the training page](03-training)
# derives why M3L with ρ = 4 should need more epochs than with ρ = 1); the table above shows
# whether it does.

# %% [markdown]
# ## Paired comparisons over seeds
# Mean non-English Recall@10 of A minus B, paired by seed (same initialisation seed, same
# validation split), with a t interval and the one-sided paired t-test of A > B. The two
# ablation rows separate what M3L's form does from what its negative-text term does.

# %%
from companion.metrics.comparison import paired_difference

seed_nonen = {label: [t.loc["R@10"].drop("en").mean() for t in ts] for label, ts in runs.items()}
pairs = [(f"{names[enc]} M3L", f"{names[enc]} PATR") for enc in encoders_run]
pairs += [(main, f"{main}, rho = 1"), (main, f"{main}, alpha2 = 0"), (f"{main}, rho = 1", f"{names[main_enc]} PATR")]
paired = pd.DataFrame([{"A": a, "B": b, **paired_difference(seed_nonen[a], seed_nonen[b])} for a, b in pairs])
paired.round(4)

# %% [markdown]
# `seeds to resolve` is how many seed pairs a one-sided 5% test would need for 80% power if
# the true difference and spread were the ones observed here: where it exceeds the seeds run,
# the difference is within noise at this budget.

# %% [markdown]
# ## Recall@1 and @5 (seed means)

# %%
pd.concat({label: (sum(ts) / len(ts)).loc[["R@1", "R@5"]] for label, ts in runs.items()}).round(3)

# %% [markdown]
# ## A reference the paper does not have: a linear map
# Ridge regression from sentence embeddings to image features, fitted on the same
# English captions, shows how far the frozen encoders carry the transfer on this data.

# %%
from companion.crosslingual.evaluate import recall_table_from_map, ridge_map

ridge = pd.DataFrame({names[enc]: recall_table_from_map(ridge_map(feats.train_text[enc], feats.train_image),
                                                        feats.test_text[enc], feats.test_image).loc["R@10"]
                      for enc in encoders_run}).T
ridge[list(LANGUAGES)].round(3)

# %% [markdown]
# ```{exercise} Extend: does a more strongly regularised linear map transfer better?
# :label: crosslingual-ex-ridge
#
# The linear map above is a ridge regression with penalty α = 1 (`evaluate.ridge_map`). A map
# that fits the English captions less closely might lean less on the directions in which the
# other languages' sentence embeddings differ from English. Add the rows of a small ablation of
# this baseline: for α in 1, 100 and 10⁴, fitted on the same English training captions of the
# main encoder, report English Recall@10, the mean non-English Recall@10 and their ratio
# (`evaluate.recall_table_from_map`, `evaluate.nonenglish_mean`, `evaluate.english_ratio`).
# Which α gives the highest non-English Recall@10, and which the highest ratio? Are they the same?
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} crosslingual-ex-ridge
# :class: dropdown
# ```

# %% tags=["solution"]
from companion.crosslingual.evaluate import english_ratio, nonenglish_mean

ex_ridge = {}
for ex_alpha in (1.0, 100.0, 1e4):
    ex_r10 = recall_table_from_map(ridge_map(feats.train_text[main_enc], feats.train_image, alpha=ex_alpha),
                                   feats.test_text[main_enc], feats.test_image).loc["R@10"]
    ex_ridge[ex_alpha] = {"R@10 en": ex_r10["en"], "R@10 non-en mean": nonenglish_mean(ex_r10),
                          "non-en / en": english_ratio(ex_r10)}
ex_ridge = pd.DataFrame(ex_ridge).T.rename_axis("ridge alpha")
print(f"{names[main_enc]}, {profile} profile: highest non-English R@10 at alpha = "
      f"{ex_ridge['R@10 non-en mean'].idxmax():g}, highest ratio at alpha = {ex_ridge['non-en / en'].idxmax():g}")
ex_ridge.round(3)

# %% [markdown] tags=["solution"]
# The penalty shrinks the map towards predicting the mean image feature for every caption. A
# little shrinkage removes directions fitted to the English training captions' noise, which
# the other languages do not share, so non-English recall can gain; a lot of it throws away
# the content too, and every language falls towards chance. The ratio non-English / English
# and the non-English recall itself need not peak at the same α: a map that is equally poor
# in every language has a ratio near 1. The printed line says where each peaks in this run;
# that is why the chapter's headline is the non-English recall between chance and the
# English ceiling, not the ratio alone.

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %%
from companion.crosslingual.evaluate import chance_recall
from companion.crosslingual.figures import recall_by_language

system = {(enc, loss): f"{names[enc]} {loss.upper()}" for (enc, loss) in tables}
recall_by_language({system[key]: summary.loc[system[key], list(LANGUAGES)].astype(float).to_dict() for key in tables},
                   chance=chance_recall(len(feats.test), 10),
                   paper={system[(enc, loss)]: table2()[(paper_enc[enc], loss.upper())] for (enc, loss) in tables},
                   paper_names={system[(enc, loss)]: f"{paper_enc[enc]} {loss.upper()}" for (enc, loss) in tables},
                   title=f"Zero-shot text→image Recall@10 (seed means), trained on English: ours ({profile} profile, "
                         "synthetic) solid, paper (XTD10) dashed")
plt.show()

# %% [markdown]
# ## Table 3 layout: English-only against multilingual training (Multi30K-style)
# The paper's Table 3 trains mUSE + M3L on Multi30K either on English captions only or on
# English, German and French together, and tests in the three languages. Multi30K's images
# are not available offline (its real text is measured on [the data page](01-data)), so a
# second synthetic miniature is written in Multi30K's task-1 layout
# (`data/task1/raw/<split>.<lang>`, `image_splits/<split>.txt`) and read back through
# `data.load_multi30k`; each image has one caption per language, with its own paraphrase
# template (Multi30K's German and French captions were written independently of the English
# ones, not translated). In the multilingual run every image appears once per language, and
# the rows of one image are never each other's negatives.
#
# **Equal optimiser steps.** With the epochs fixed, the multilingual run, three times as many
# rows, takes three times as many optimiser steps as the English-only one, and the comparison
# would measure the budget. The English-only run therefore trains for as many epochs as it
# takes to reach the multilingual run's steps (`train.matched_epochs`; the steps columns show
# both); the epoch-matched English-only run is shown too.

# %%
from companion.crosslingual.paper import table3
from companion.crosslingual.multi30k import synthetic_multi30k_features, train_multi30k
from companion.crosslingual.train import matched_epochs, optimizer_steps

m30k = synthetic_multi30k_features(root / "multi30k", n_train=m30k_train, n_test=m30k_test, seed=seed,
                                   image_size=image_size, cache_dir=cache_dir("crosslingual-embeddings"),
                                   encoder=main_enc)
m30k_desc = (f"synthetic Multi30K-layout scenes ({profile} profile): {m30k_train} train images x en/de/fr "
             f"captions, {m30k_test} test images")
print(m30k_desc)
n_rows = len(m30k.names["train"])
multi_steps = optimizer_steps(3 * n_rows, batch_size, epochs)
plan3 = {"en,fr,de": (("en", "fr", "de"), epochs), "en": (("en",), matched_epochs(multi_steps, n_rows, batch_size)),
         "en, same epochs": (("en",), epochs)}
table3_all, table3_steps = {}, {}
for label, (train_langs, n_epochs) in plan3.items():
    cfg = TrainConfig(encoder=m30k.encoder, loss="m3l", epochs=n_epochs, batch_size=batch_size, lr=lr, beta1=beta1,
                      seed=seed)
    model, _, _ = train_multi30k(m30k, train_langs, cfg, cache_dir=cache_dir("crosslingual-checkpoints"),
                                 device=device, progress=False)
    table3_all[label] = recall_table(model, m30k.text["test"], m30k.image["test"]).loc["R@10"]
    table3_steps[label] = optimizer_steps(len(train_langs) * n_rows, batch_size, n_epochs)
table3_ours = {k: table3_all[k] for k in ("en,fr,de", "en")}
rows = [{"model": f"ours ({names[m30k.encoder]} M3L, {profile})", "train langs": label,
         "epochs": plan3[label][1], "steps": table3_steps[label], **r.round(3).to_dict()}
        for label, r in table3_all.items()]
rows += [{"model": f"paper: {model}", "train langs": train, **values} for (model, train), values in table3().items()]
pd.DataFrame(rows)[["model", "train langs", "epochs", "steps", "en", "de", "fr"]]

# %% [markdown]
# ## The paper's claims, checked on this run
# The paper states its claims in words ("well above chance", "improves", "comparable"). Each row
# below turns one into a test with its criterion written out, next to the paper's evidence for it
# and this run's numbers; `holds` is the test applied to this run (seed-paired where there are
# seeds). A claim that fails here fails on synthetic scenes with EfficientNet-Lite0 features and a
# CPU-sized training run, not on the paper's data.

# %%
from companion.crosslingual.evaluate import claims_table

claims = claims_table(tables, table3_ours, n_test=len(feats.test), table3_steps=table3_steps)
record_claims("crosslingual", claims, profile=profile)  # for the scorecard
with pd.option_context("display.max_colwidth", None):
    display(claims)

# %% [markdown]
# ## Headline: how much of the way from chance to the ceiling
# The baseline is chance (Recall@10 of a random ranking of the test images); the ceiling is
# the same model queried with each test image's English caption, the language it was trained
# in; ours is the same model's mean Recall@10 over the ten other languages (seed means). The
# last row is what a perfect reader of the captions would reach: one that knows each test
# image's scene and ranks the images with that scene first (`synthetic.oracle_recall_at_k`;
# it falls short of 1 only where more than ten test images share a scene). The distance from
# the English row to it is what the image features and the mapping leave on the table, in
# every language alike.

# %%
import json

from companion.crosslingual.evaluate import headroom_table
from companion.crosslingual.synthetic import oracle_recall_at_k

headline = {"headline_baseline": chance_recall(len(feats.test), 10),
            "headline_ours": float(summary.loc[main, "non-en mean"]),
            "headline_ceiling": float(summary.loc[main, "en"])}
oracle = oracle_recall_at_k(json.loads((root / "scenes.json").read_text()), feats.test.image_names, k=10)
headroom = headroom_table(headline["headline_baseline"], headline["headline_ours"], headline["headline_ceiling"],
                          what="Recall@10", names=("chance", f"{main}, non-English mean", f"{main}, English"))
headroom.loc["perfect reader of the scene (oracle)"] = ["Recall@10", oracle, np.nan]
headroom.round(3)

# %%
metrics = {**headline, "oracle_R@10": oracle, "n_runs": len(stops), "n_runs_capped": n_capped,
           **{f"lr_{loss}": x for loss, x in chosen_lr.items()}}
metrics.update(claims_total=len(claims), claims_testable=int(claims["holds"].notna().sum()),
               claims_held=int(claims["holds"].fillna(False).astype(bool).sum()))
for label, r in table3_all.items():
    train_key = {"en,fr,de": "multi", "en": "en", "en, same epochs": "en_sameepochs"}[label]
    for lang in ("en", "de", "fr"):
        metrics[f"R@10_m30k_{lang}_train_{train_key}"] = r[lang]
for (enc, loss), ts in tables.items():
    mean = sum(ts) / len(ts)
    for lang in LANGUAGES:
        for k in (1, 5, 10):
            metrics[f"R@{k}_{lang}_{enc}_{loss}"] = mean.loc[f"R@{k}", lang]
for label, enc, knobs in plan:
    key = f"{enc}_{knobs['loss']}" + "".join(f"_{k}_{v:g}".replace(".", "p") for k, v in knobs.items() if k != "loss")
    metrics[f"R@10_nonen_mean_{key}"] = summary.loc[label, "non-en mean"]
    metrics[f"R@10_nonen_sd_{key}"] = summary.loc[label, "non-en sd"] if len(seeds) > 1 else 0.0
    metrics[f"ratio_nonen_en_{key}"] = summary.loc[label, "non-en / en"]
    metrics[f"best_epoch_mean_{key}"] = float(stops.loc[stops["configuration"] == label, "best epoch"].mean())
for i, r in paired.iterrows():  # in the order of the paired table
    metrics[f"paired_diff_{i}"] = r["diff"]
for enc in encoders_run:
    metrics[f"R@10_nonen_mean_{enc}_ridge"] = ridge.loc[names[enc], list(LANGUAGES[1:])].mean()
record("crosslingual/05-evaluation", metrics, profile=profile, seed=seed, device=str(dev),
       data=f"{data_desc}; Table 2: seeds {seeds}, early-stopped (<= {es_epochs} epochs, patience {patience}, "
            f"validation {val_fraction:g} of the training images, learning rate per loss from {lr_grid} on seed "
            f"{seeds[0]}'s validation); Table 3: {m30k_desc}")

# %% [markdown]
# In this run (seed means), mUSE + M3L reaches Recall@10 {glue:text}`R@10_en_muse_m3l:.3f` in English and
# {glue:text}`R@10_nonen_mean_muse_m3l:.3f` averaged over the ten other languages (seed sd
# {glue:text}`R@10_nonen_sd_muse_m3l:.3f`); mUSE + PATR {glue:text}`R@10_en_muse_patr:.3f` and
# {glue:text}`R@10_nonen_mean_muse_patr:.3f`. Without the power (ρ = 1) M3L reaches
# {glue:text}`R@10_nonen_mean_muse_m3l_rho_1:.3f`, and without the negative-text term (α2 = 0)
# {glue:text}`R@10_nonen_mean_muse_m3l_alpha2_0:.3f`. The linear map reaches
# {glue:text}`R@10_nonen_mean_muse_ridge:.3f` (non-English mean). The paper's numbers are on 1,000 real COCO
# images with ResNet152 features; ours are on the synthetic test set of the size printed at the top, so
# only the pattern (English above the rest, which languages lag, which loss leads) compares.
#
# The main model's non-English Recall@10 ({glue:text}`headline_ours:.3f`) is to be read between chance
# ({glue:text}`headline_baseline:.3f`) and the same model queried in English ({glue:text}`headline_ceiling:.3f`);
# the share of that gap it closes is in the headline table above, which also shows the oracle. {glue:text}`claims_held:.0f` of the
# {glue:text}`claims_testable:.0f` testable claims hold on this run.
#
# In the Table 3 layout at equal optimiser steps, training on English only gives Recall@10
# {glue:text}`R@10_m30k_de_train_en:.3f` in German and {glue:text}`R@10_m30k_fr_train_en:.3f` in French;
# training on all three languages gives {glue:text}`R@10_m30k_de_train_multi:.3f` and
# {glue:text}`R@10_m30k_fr_train_multi:.3f` (English-only with the same epochs, a third of the steps:
# {glue:text}`R@10_m30k_de_train_en_sameepochs:.3f` and {glue:text}`R@10_m30k_fr_train_en_sameepochs:.3f`).
# The paper found zero-shot German and French "dip slightly yet are comparable" to multilingual training.
