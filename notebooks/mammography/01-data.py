# %% [markdown]
# # Data: two mammography domains, three reading categories
#
# The paper {cite}`aboutalib2018` trains on 14,860 images of 3,715 patients from two sources:
# a private full-field digital mammography set (**FFDM**, 1,303 patients) and the digitised-film
# **DDSM** (2,412 patients). Each image is *negative* (cancer-free after a year), *recalled-benign*
# (recalled at screening, benign at work-up) or *malignant* (biopsy-proven; only the affected
# breast's images). The FFDM set is private and DDSM's images cannot be downloaded here, so the
# experiments run on a synthetic set (`companion.mammography.synthetic.make_synthetic`) written
# in the **same manifest format** a user's real data would use. The last section reads the real
# CBIS-DDSM cohort from its published description files (shipped with the book, no images) through
# the chapter's real adapter.
#
# The parameters below come from `notebooks/mammography/profiles.yml`.

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
manifest = ''
n_ffdm = 500
n_ddsm = 450
n_interval = 16
image_size = 128
input_size = 96
test_fraction = 0.4
backbone = 'alexnet'
batch_norm = True
width = 0.25
fc_features = 256
dropout = 0.2
alexnet_weights = ''
epochs = 12
batch_size = 32
lr = 0.01
lr_step_iterations = 100
flip = True

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.mammography import LABELS, STRATEGIES
from companion.mammography.data import (PAPER_PATIENTS, SCENARIO_TITLES, SCENARIOS, WITHOUT_CALLBACK_CHOICES,
                                        cbis_ddsm_cohort, cohort_summary, cv_folds, equalize_histogram, load_image,
                                        patient_table, resize_bicubic, vendored_cbis_csvs)
from companion.mammography.evaluate import oracle_ceilings, table1_layout
from companion.mammography.figures import STRATEGY_TITLES, class_balance, image_grid
from companion.mammography.synthetic import SyntheticSpec, lesion_examples
from companion.mammography.train import chapter_data, scenario_subset, strategy_indices, test_subset

data, data_desc = chapter_data(profile, seed, manifest=manifest, n_ffdm=n_ffdm, n_ddsm=n_ddsm, n_interval=n_interval,
                            image_size=image_size, input_size=input_size, test_fraction=test_fraction)
manifest_frame = data.manifest
pd.set_option("display.max_colwidth", None)
print(data_desc)
# file names only: the loader resolves image_path against the manifest's folder on this machine
manifest_frame.drop(columns=["code"]).assign(image_path=manifest_frame["image_path"].map(os.path.basename)).head(6)

# %% [markdown]
# ## The manifest
# One row per image. `image_path` is relative to the manifest's folder; `interval_cancer` marks
# the prior, read-negative images of women whose cancer surfaced before the next screen (the
# paper's false-negative analysis). The synthetic set follows the paper's class proportions per
# dataset; malignant patients contribute the two views of the affected breast only, as in the paper,
# while negative and recalled-benign patients contribute all four views.

# %%
patients = patient_table(manifest_frame)
counts = (manifest_frame.groupby(["dataset", "label"]).agg(images=("image_path", "size"),
                                                          patients=("patient_id", "nunique")))
counts["paper patients"] = [PAPER_PATIENTS[d][lab] for d, lab in counts.index]
counts

# %%
fig = class_balance(patients[~patients["interval_cancer"]], PAPER_PATIENTS)
plt.show()

# %% [markdown]
# ## What each class contains, and why
# The generator is a model of the phenomenon the paper studies; these are its assumptions, taken
# from the paper and from screening practice (BI-RADS lexicon), not findings:
#
# - **negative**: a screening exam read negative, cancer-free a year later; four views. Most show
#   breast tissue only; a minority carry an *incidental* benign finding the reader did not act on
#   (a few coarse calcifications, a small round mass), as real negative screens often do.
# - **recalled-benign**: recalled because something looked suspicious, benign at work-up. Recall is a
#   decision about the *patient*, so all four views carry the label. The recalled breast shows the
#   finding that caused the recall in both views: a round or oval circumscribed mass, a focal
#   asymmetry, coarse or rim calcifications, or (in some patients) an irregular-looking benign mass
#   such as fat necrosis. Benign findings are often bilateral and multiple (cysts, fibroadenomas,
#   benign calcifications), so the other breast frequently shows one too. Recalled women have
#   denser breasts on average.
# - **malignant**: biopsy-proven cancer; only the affected breast's two views (as in the paper). A
#   spiculated or irregular mass, or a cluster of fine pleomorphic (dot, linear, branching)
#   calcifications; a few cancers look circumscribed, like a benign mass. Dense tissue lowers the
#   lesion's contrast and, in some images, hides it completely (mammographically occult).
#   *Interval cancers* (the false-negative analysis) are drawn with about half the usual contrast.
#
# Lesions differ from tissue by shape and texture (margins, spicules, lobulation, internal
# heterogeneity, calcification shape and clustering), and the image is compressed softly towards
# white rather than clipped, so the paper's histogram equalisation (a monotone map) keeps them.
# Calcification specks are at least 1.5 px in radius at a 96-px input; real microcalcifications
# (0.1-0.5 mm) would vanish at the paper's 227 px for a whole breast, so ours are enlarged.
#
# **Calibrated, said plainly:** the bilateral-finding rate, the incidental-finding rate, the density
# shift of recalled women and DDSM's higher lesion contrast (`ddsm_contrast_gain`, the paper's DDSM
# numbers are higher) were chosen so that the classes are separable at the patient level and DDSM is
# the easier domain, as the paper reports. The numbers each knob takes:

# %%
pd.Series(vars(SyntheticSpec())).to_frame("value")

# %% [markdown]
# What the images of each class show, per the generator's latent labels (`latent.csv`, one row per
# image; "none" includes occult cancers):

# %%
if data.latent is not None:
    findings = pd.crosstab([manifest_frame["dataset"], manifest_frame["label"]], data.latent["finding"].to_numpy(),
                           colnames=["finding shown"])
else:
    findings = pd.DataFrame()
findings

# %% [markdown]
# ## The oracle ceiling of every scenario
# What a perfect reader of these pixels can reach: a logistic regression on the latent labels of each
# image (finding kind, its contrast, breast density), fitted on each strategy's training images and
# scored on the same class-balanced test images the CNNs are scored on. A CNN's AUC is measured
# against this ceiling, not against 1.0; the evaluation page prints both side by side.

# %%
if data.latent is not None:
    ceilings = oracle_ceilings(data, STRATEGIES, SCENARIOS)
    ceiling_table = pd.DataFrame({STRATEGY_TITLES[st]: {SCENARIO_TITLES[sc]: ceilings[(st, sc)] for sc in SCENARIOS}
                                  for st in STRATEGIES}).round(3)
else:
    ceilings, ceiling_table = {}, pd.DataFrame()
ceiling_table

# %% [markdown]
# ## What the images look like
# One example of each finding, drawn a little more conspicuous than in the data so that it can be
# seen at this size.

# %%
gallery = lesion_examples(image_size=max(image_size, 128), seed=seed)
fig = image_grid(list(gallery.values()), [k.replace("_", " ") for k in gallery], ncols=4)
plt.show()

# %% [markdown]
# The two domains differ the way digital and digitised film differ: DDSM images have half the
# resolution, a film characteristic curve, grain, label stickers and scanner streaks; the film
# base around the breast is dark (direct exposure), so the preprocessing's breast mask does not
# spend grey levels on film noise. Here is the first craniocaudal image of each class and domain, as stored.

# %%
picks, titles = [], []
for dataset in ("ffdm", "ddsm"):
    for label in LABELS:
        row = manifest_frame[(manifest_frame["dataset"] == dataset) & (manifest_frame["label"] == label)
                             & (manifest_frame["view"] == "CC") & ~manifest_frame["interval_cancer"]].iloc[0]
        picks.append(load_image(row["image_path"]))
        titles.append(f"{dataset.upper()} {label.replace('_', '-')}")
fig = image_grid(picks, titles, ncols=3, size=2.4)
plt.show()

# %% [markdown]
# ## Preprocessing
# The paper: "histogram equalization, mean subtracting, and downsampling using standard bicubic
# interpolation to 227 × 227 pixels". We equalise the breast's histogram (the air around it stays
# black), resample bicubically to the profile's input size, and subtract the training set's mean
# image (Caffe's convention). Decoded and resampled images are cached once as a uint8 array, so
# training never waits for image decoding.

# %%
raw = load_image(manifest_frame["image_path"].iloc[0])
equalised = equalize_histogram(raw)
resampled = resize_bicubic(equalised, input_size)
train_mean = data.images[data.indices("ffdm", "train")].mean(0) / 255.0
centred = resampled - train_mean
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, image, title in zip(axes, (raw, equalised, resampled, centred),
                            ("stored", "histogram equalised", f"bicubic {input_size} px", "minus training mean")):
    ax.imshow(image, cmap="gray")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ```{exercise} Predict, then run: switch histogram equalisation off
# :label: mammography-ex-equalisation
#
# Histogram equalisation is a monotone map of grey levels, so it cannot move a finding or change which
# pixels are brighter than which. Predict whether, **after** equalisation, a finding stands out more or
# less from the breast tissue around it than without equalisation (measure it as the finding's mean grey
# level minus the surrounding breast's mean, in units of the breast's standard deviation). Think about
# where a bright finding lands in the equalised histogram when the dense tissue around it is bright too.
# Then measure it on this profile's FFDM images that show a finding, with `data.preprocess_image`
# (`equalize=True` and `False`) and the generator's finding masks (`synthetic.lesion_mask`).
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} mammography-ex-equalisation
# :class: dropdown
# ```

# %% tags=["solution"]
from companion.mammography.data import preprocess_image
from companion.mammography.synthetic import lesion_mask

with_finding = np.flatnonzero(data.latent["visible"].astype(bool).to_numpy()
                              & (data.manifest["dataset"] == "ffdm").to_numpy())[:16]
contrast_rows = []
for i in with_finding:
    stored = load_image(data.manifest["image_path"].iloc[i])
    inside = lesion_mask(data.latent.iloc[i], input_size)
    for equalise in (True, False):
        pixels = preprocess_image(stored, input_size, equalize=equalise).astype(float)
        around = (pixels > 5) & ~inside  # the breast outside the finding (the air stays black)
        contrast_rows.append({"equalised": equalise, "finding": data.latent["finding"].iloc[i],
                              "contrast": (pixels[inside].mean() - pixels[around].mean()) / pixels[around].std()})
contrast = pd.DataFrame(contrast_rows)
print(f"{len(with_finding)} FFDM images with a finding")
contrast.pivot_table(index="finding", columns="equalised", values="contrast", aggfunc="mean").round(2)

# %% [markdown] tags=["solution"]
# The table prints the mean contrast per finding kind with equalisation on (`True`) and off (`False`).
# Equalisation replaces each grey level $g$ by the share of breast pixels darker than $g$, its empirical
# CDF $F(g)$. A finding brighter than the tissue around it keeps its rank, but its *distance* from that
# tissue becomes $F(g_\text{finding}) - F(g_\text{tissue})$, the share of breast pixels between the two levels.
# In dense breasts most pixels are already bright, so a finding sitting just above the dense tissue gains
# little, while the dark fatty tissue is spread over many grey levels and the breast's standard deviation
# grows: the contrast in standard-deviation units can only shrink when the finding sits in the crowded
# bright end of the histogram. Compare your prediction with the sign of the difference the table shows,
# kind by kind. The ablation page's "no histogram equalisation" variant measures what the change costs or
# gains a trained network.
#
# ```{solution-end}
# ```

# %% [markdown]
# ## Splits by patient
# Each dataset is split on its own, stratified by the patient's class, with the profile's test
# fraction (the paper: 5 %, and 10 % and 15 % in the robustness analysis). Interval-cancer patients
# are kept out of both sides for the false-negative analysis. No patient may appear on both sides:

# %%
split_table = manifest_frame.groupby(["dataset", "split", "label"])["patient_id"].nunique().unstack(fill_value=0)
train_patients = set(manifest_frame.loc[manifest_frame["split"] == "train", "patient_id"])
test_patients = set(manifest_frame.loc[manifest_frame["split"] == "test", "patient_id"])
shared = train_patients & test_patients
print(f"patients in both train and test: {len(shared)}")
split_table

# %% [markdown]
# Inside the training part the paper validates by 6-fold cross-validation; our folds group
# images by patient and stratify by class (FFDM training patients per fold):

# %%
ffdm_train = manifest_frame.iloc[data.indices("ffdm", "train")]
folds = cv_folds(ffdm_train, n_folds=6, seed=seed)
ffdm_train.assign(fold=folds).groupby(["fold", "label"])["patient_id"].nunique().unstack(fill_value=0)

# %% [markdown]
# ## Table 1, our version
# Like the paper, each scenario's training and test sets are balanced by undersampling to the
# smallest class ("per category" in Table 1). These are the image counts each model of the
# evaluation page sees:

# %%
rows = []
for strategy in STRATEGIES:
    stages = strategy_indices(data, strategy)
    for scenario in SCENARIOS:
        train_idx, train_y = scenario_subset(data, stages["train"], scenario, True, seed)
        test_idx, test_y = test_subset(data, stages["test"], scenario)
        rows.append(dict(strategy=strategy, scenario=scenario, train_total=len(train_idx),
                         train_per_category=int(np.bincount(train_y).min()), test_total=len(test_idx),
                         test_per_category=int(np.bincount(test_y).min())))
table1 = pd.DataFrame(rows).set_index(["strategy", "scenario"])
table1

# %% [markdown]
# The same counts in the paper's layout, beside the paper's Table 1 (the paper groups every scenario
# but negative vs recalled-benign under "Others"; our "others" row is malignant vs negative, the
# smallest of them). Our test sets are far larger relative to training than the paper's 5 %: the
# default profile gives 40 % of the patients to the test sets so that AUCs have narrow intervals.

# %%
table1_layout(data, seed=seed)

# %% [markdown]
# ## The real cohort: CBIS-DDSM
# CBIS-DDSM {cite}`lee2017cbis` is the curated subset of DDSM with lesion-level descriptions. Its four
# description CSVs ship with the book (`data/real/cbis_ddsm/`, CC BY 3.0); `cbis_ddsm_cohort` reads them
# exactly as TCIA publishes them and builds the image-level cohort the chapter's adapter would train on
# (`cbis_ddsm_manifest` adds the DICOMs when you have them). An image with several lesions keeps its
# most severe label.

# %%
cbis, cbis_report = cbis_ddsm_cohort(vendored_cbis_csvs())
cohort_summary(cbis)

# %% [markdown]
# A patient with a malignant and a benign image counts in both rows, once in "all". CBIS-DDSM holds
# **no negative exams**: the paper's 695 DDSM negatives came from DDSM's normal volumes, which a
# user converts from LJPEG and adds as `negative` rows.
#
# ### `BENIGN_WITHOUT_CALLBACK`
# Some lesions were noted but never called back. The paper defines recalled-benign as *recalled* at
# screening and benign at work-up, so these are not recalled-benign by its definition; the nearest of
# its classes is negative (not recalled, no cancer), though no one-year follow-up confirms it. The
# adapter's `without_callback` parameter decides; the default, `exclude`, leaves them out and counts
# what it leaves:

# %%
pd.Series({k: v for k, v in cbis_report.items()}, name="count").to_frame()

# %%
choices = {}
for choice in WITHOUT_CALLBACK_CHOICES:
    frame, report = cbis_ddsm_cohort(vendored_cbis_csvs(), without_callback=choice)
    choices[choice] = {**frame["label"].value_counts().to_dict(), "excluded images": report["excluded_images"],
                       "excluded patients": report["excluded_patients"]}
pd.DataFrame(choices).T.fillna(0).astype(int)

# %%
record("mammography/01-data",
       {"n_images": len(manifest_frame), "n_patients": manifest_frame["patient_id"].nunique(),
        "n_test_images": int((manifest_frame["split"] == "test").sum()),
        "n_interval_images": int((manifest_frame["split"] == "interval").sum()),
        "patients_in_train_and_test": len(shared),
        "ffdm_mvn_train_images": int(table1.loc[("ffdm", "malignant_vs_negative"), "train_total"]),
        **{f"oracle_{st}_{sc}": v for (st, sc), v in ceilings.items()},
        "cbis_lesion_rows": cbis_report["lesion_rows"], "cbis_patients": cbis_report["patients"],
        "cbis_images": cbis_report["images"], "cbis_without_callback_rows": cbis_report["without_callback_rows"],
        "cbis_excluded_images": cbis_report["excluded_images"],
        "cbis_excluded_patients": cbis_report["excluded_patients"]},
       profile=profile, seed=seed, data=data_desc)

# %% [markdown]
# In this run (the profile named in the parameters cell; data as printed above) the manifest holds {glue:text}`n_images:.0f` images of
# {glue:text}`n_patients:.0f` patients; {glue:text}`n_test_images:.0f` images are in the test sets and
# {glue:text}`n_interval_images:.0f` are interval-cancer images held out for the false-negative analysis.
# {glue:text}`patients_in_train_and_test:.0f` patients appear on both sides of the split. The oracle ceiling of
# FFDM malignant vs negative is {glue:text}`oracle_ffdm_malignant_vs_negative:.3f`, of FFDM negative vs
# recalled-benign {glue:text}`oracle_ffdm_recalled_vs_negative:.3f`.
#
# The real CBIS-DDSM descriptions (not a profile-dependent number: the files are fixed) hold
# {glue:text}`cbis_lesion_rows:.0f` lesion rows on {glue:text}`cbis_images:.0f` images of
# {glue:text}`cbis_patients:.0f` patients; {glue:text}`cbis_without_callback_rows:.0f` rows are
# `BENIGN_WITHOUT_CALLBACK`, and excluding them removes {glue:text}`cbis_excluded_images:.0f` images and
# {glue:text}`cbis_excluded_patients:.0f` patients whose only findings they are.
