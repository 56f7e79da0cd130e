# %% [markdown]
# # 1. The data: IU X-ray and its synthetic stand-in
#
# The paper trains and tests on IU X-ray (3,955 reports, each with a frontal and a lateral
# chest radiograph). That dataset cannot be downloaded here, so this chapter runs on a
# **synthetic IU X-ray** written in exactly R2Gen's on-disk layout (`annotation.json` plus
# `images/<id>/0.png, 1.png`) and read back by the same loader a reader would point at the real
# folder (`data_root`). The parameters below come from `notebooks/radiology/profiles.yml`.

# %% tags=["parameters"]
profile = "default"
seed = 0
device = "auto"
data_root = ""
split = "file"
n_studies = 240
image_size = 96
vision_trunk = "densenet-small"
text_layers = 2
n_prompts = 16
epochs = 6
batch_size = 16
max_length = 64
lr = 0.0005

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.radiology.data import FINDING_RATES, NORMAL_FRACTION, finding_table, load_annotation, resplit
from companion.radiology.figures import finding_frequencies, study_grid
from companion.radiology.train import chapter_data

root = chapter_data(profile, n_studies, image_size, seed, data_root)
studies = resplit(load_annotation(root), split, seed=seed)
every = [s for part in studies.values() for s in part]
source = f"real IU X-ray at {data_root}" if data_root else f"synthetic IU X-ray, {len(every)} studies, {image_size} px"
print(source)

# %% [markdown]
# ## What a study looks like
# Each synthetic study is an anatomical phantom (lungs, ribs, heart, mediastinum, spine,
# diaphragm) with findings drawn in place, and a report composed from IU-style sentences
# (paraphrased, in varying order, with the de-identification token `XXXX`) that says exactly
# what was drawn. That correspondence is what makes retrieval measurable.

# %%
abnormal = [s for s in every if s.findings]
normal = [s for s in every if s.findings is not None and not s.findings]
study_grid(normal[:1] + abnormal[:3], n=4)
plt.show()

# %% [markdown]
# ## Findings and imbalance
# About 40 % of studies are normal, as in IU X-ray; among the rest, granuloma, cardiomegaly and
# degenerative spine are common and pneumothorax is rare. The generator's rates:

# %%
pd.Series({"normal (probability)": NORMAL_FRACTION, **{f"{k} (per abnormal study)": v for k, v in FINDING_RATES.items()}},
          name="rate").to_frame()

# %%
counts = finding_table(every)
finding_frequencies({k: v for k, v in counts.items() if k != "abnormal"}, len(every),
                    title=f"findings in {source} ({profile} profile)")
plt.show()

# %% [markdown]
# ## Splits by study
# The paper re-splits the 3,955 reports 7:2:1 (train:val:test); R2Gen, whose numbers fill the
# rest of the paper's Table 1, uses 7:1:2. Splits are made by **study id** with a fixed seed, so
# the two views of a study never straddle train and test (`split` parameter: `paper`, `r2gen`, or
# `file` to keep annotation.json's own split).

# %%
split_table = pd.DataFrame({name: finding_table(part) | {"studies": len(part)} for name, part in studies.items()})
split_table

# %% [markdown]
# ## Reports
# Lengths in words, and how often the exact same report text recurs (IU X-ray's normal reports
# repeat a lot, which is why "the most frequent training report" is a strong baseline).

# %%
words = np.array([len(s.report.split()) for s in every])
reports = pd.Series([s.report for s in studies["train"]])
repeats = reports.value_counts()
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.hist(words, bins=20)
ax.set_xlabel("words per report")
ax.set_ylabel("studies")
ax.set_title(f"report length ({profile} profile)", fontsize=10)
plt.show()
print("most frequent training report:", repr(repeats.index[0]), "x", repeats.iloc[0])

# %%
record("radiology/01-data",
       {"n_train": len(studies["train"]), "n_val": len(studies["val"]), "n_test": len(studies["test"]),
        "normal_fraction": counts["normal"] / len(every), "mean_report_words": float(words.mean()),
        "distinct_train_reports": int(reports.nunique())},
       profile=profile, seed=seed, data=source)

# %% [markdown]
# In this run ({glue:text}`n_train:.0f` training, {glue:text}`n_val:.0f` validation and
# {glue:text}`n_test:.0f` test studies), {glue:text}`normal_fraction:.2f` of studies are normal,
# reports average {glue:text}`mean_report_words:.1f` words, and the training set holds
# {glue:text}`distinct_train_reports:.0f` distinct reports.
