# %% [markdown]
# # Data: two mammography domains, three reading categories
#
# The paper {cite}`aboutalib2018` trains on 14,860 images of 3,715 patients from two sources:
# a private full-field digital mammography set (**FFDM**, 1,303 patients) and the digitised-film
# **DDSM** (2,412 patients). Each image is *negative* (cancer-free after a year), *recalled-benign*
# (recalled at screening, benign at work-up) or *malignant* (biopsy-proven; only the affected
# breast's images). The FFDM set is private and DDSM cannot be downloaded here, so this page runs
# on a synthetic set written in the **same manifest format** a user's real data would use
# (see the chapter's landing page for the format and the CBIS-DDSM adapter).
#
# The parameters below come from `notebooks/mammography/profiles.yml`.

# %% tags=["parameters"]
profile = "default"
seed = 0
device = "auto"
manifest = ''
n_ffdm = 300
n_ddsm = 450
n_interval = 16
image_size = 128
input_size = 96
test_fraction = 0.1
backbone = 'alexnet'
batch_norm = True
width = 0.25
fc_features = 256
dropout = 0.2
alexnet_weights = ''
epochs = 12
batch_size = 32
lr = 0.01
lr_step_iterations = 300

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.mammography import LABELS, STRATEGIES
from companion.mammography.data import (PAPER_PATIENTS, SCENARIOS, cv_folds, equalize_histogram, lesion_examples,
                                        load_image, patient_table, resize_bicubic)
from companion.mammography.figures import class_balance, image_grid
from companion.mammography.train import book_data, scenario_subset, strategy_indices

data, data_desc = book_data(profile, seed, manifest=manifest, n_ffdm=n_ffdm, n_ddsm=n_ddsm, n_interval=n_interval,
                            image_size=image_size, input_size=input_size, test_fraction=test_fraction)
manifest_frame = data.manifest
pd.set_option("display.max_colwidth", None)
print(data_desc)
manifest_frame.drop(columns=["code"]).head(6)

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
# ## What the images look like
# The generator draws a compressed breast with fibroglandular texture at one of four BI-RADS
# density levels (denser breasts are more often recalled), and places the findings that drive
# the three categories: circumscribed round/oval masses, coarse benign calcifications and
# asymmetries for *recalled-benign*; spiculated or irregular masses and clusters of fine
# pleomorphic calcifications for *malignant*. Below, one example of each finding, drawn larger
# and more conspicuous than in the data so that it can be seen.

# %%
gallery = lesion_examples(image_size=max(image_size, 128), seed=seed)
fig = image_grid(list(gallery.values()), [k.replace("_", " ") for k in gallery], ncols=4)
plt.show()

# %% [markdown]
# The two domains differ the way digital and digitised film differ: DDSM images have half the
# resolution, a film characteristic curve, grain, a grey film base, label stickers and scanner
# streaks. Here is the first craniocaudal image of each class and domain, as stored.

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
        test_idx, test_y = scenario_subset(data, stages["test"], scenario, True, seed)
        rows.append(dict(strategy=strategy, scenario=scenario, train_total=len(train_idx),
                         train_per_category=int(np.bincount(train_y).min()), test_total=len(test_idx),
                         test_per_category=int(np.bincount(test_y).min())))
table1 = pd.DataFrame(rows).set_index(["strategy", "scenario"])
table1

# %%
record("mammography/01-data",
       {"n_images": len(manifest_frame), "n_patients": manifest_frame["patient_id"].nunique(),
        "n_test_images": int((manifest_frame["split"] == "test").sum()),
        "n_interval_images": int((manifest_frame["split"] == "interval").sum()),
        "patients_in_train_and_test": len(shared),
        "ffdm_mvn_train_images": int(table1.loc[("ffdm", "malignant_vs_negative"), "train_total"])},
       profile=profile, seed=seed, data=data_desc)

# %% [markdown]
# In this run (the profile named in the parameters cell; data as printed above) the manifest holds {glue:text}`n_images:.0f` images of
# {glue:text}`n_patients:.0f` patients; {glue:text}`n_test_images:.0f` images are in the test sets and
# {glue:text}`n_interval_images:.0f` are interval-cancer images held out for the false-negative analysis.
# {glue:text}`patients_in_train_and_test:.0f` patients appear on both sides of the split.
