# %% [markdown]
# # 1. The data: IU X-ray and its synthetic stand-in
#
# The paper trains and tests on IU X-ray (3,955 reports, each with a frontal and a lateral
# chest radiograph). That dataset cannot be downloaded here, so this chapter runs on a
# **synthetic IU X-ray** written in exactly R2Gen's on-disk layout (`annotation.json` plus
# `images/<id>/0.png, 1.png`) and read back by the same loader a reader would point at the real
# folder (`data_root`). The parameters below come from `notebooks/radiology/profiles.yml`.
#
# The **real report text** of IU X-ray does ship with the book: `data/real/iu_xray/annotation.json`
# (R2Gen's file, 2,069 / 296 / 590 studies, no images; source and terms in that folder's README).
# The first section reads it with the chapter's loader in its index-only mode
# (`companion.radiology.data.load_reports`), and the synthetic reports further down are built from
# its sentences.

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
data_root = ""
split = "file"
n_studies = 600
image_size = 96
vision_trunk = "densenet-small"
text_layers = 1
n_prompts = 16
epochs = 12
batch_size = 16
max_length = 64
lr = 0.0005
freeze_trunk = True
vision_weights = None
text_model = None

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.radiology.data import (FINDING_RATES, NORMAL_FRACTION, finding_table, label_findings, load_annotation,
                                      load_reports, real_reports_root, report_statistics, resplit, sentence_frequencies)
from companion.radiology.evaluate import most_frequent_report_info
from companion.radiology.figures import finding_frequencies, study_grid
from companion.radiology.train import chapter_data

real = load_reports(real_reports_root())  # index only: the vendored file has no images
real_stats = pd.DataFrame({name: report_statistics([s.report for s in part]) for name, part in real.items()})
real_stats.round(3)

# %% [markdown]
# ## Real IU X-ray reports
# Per split of the real file: reports, mean and median length in words and sentences (after
# R2Gen's cleaning, which is what every scorer sees), vocabulary, distinct reports, the share of
# reports whose text occurs more than once, the count of the most frequent report, and the share
# that the chapter's keyword labeller reads as naming none of its seven findings
# (`companion.metrics.findings`; real reports also name findings outside that vocabulary, such as
# hiatal hernia or atelectasis, so this share is an upper bound of the normal fraction).
# The most frequent sentences of the training reports, and the share of reports containing each:

# %%
real_train = [s.report for s in real["train"]]
pd.DataFrame(sentence_frequencies(real_train, top=12), columns=["sentence (cleaned)", "count", "share of reports"]
             ).round(3)

# %%
real_labels = label_findings(real_train)
real_finding_share = pd.Series({f: np.mean([f in x for x in real_labels]) for f in FINDING_RATES},
                               name="share of real training reports naming it (keyword labeller)")
real_finding_share.round(3).to_frame()

# %% [markdown]
# ## The synthetic stand-in

# %%
root = chapter_data(profile, n_studies, image_size, seed, data_root)
studies = resplit(load_annotation(root), split, seed=seed)
every = [s for part in studies.values() for s in part]
source = f"real IU X-ray at {data_root}" if data_root else f"synthetic IU X-ray, {len(every)} studies, {image_size} px"
print(source)

# %% [markdown]
# ## What a study looks like
# Each synthetic study (`companion.radiology.synthetic.make_synthetic`) is an anatomical phantom
# (lungs, ribs, heart, mediastinum, spine, diaphragm) with findings drawn in place, and a report
# made of **real IU X-ray sentences**:
#
# - a normal study gets a whole real normal training report (no finding, no other abnormality
#   named), drawn with its real frequency, so the common normal reports recur as in IU X-ray;
# - an abnormal study starts from such a report, drops the sentences its findings contradict (a
#   negated mention of the finding, or the normal statement of the structure it changes) and
#   inserts, per finding, a real sentence that asserts exactly that finding, drawn with its real
#   frequency; the drawing's side and lung zone follow that sentence's words.
#
# The generator checks every report: the keyword labeller reads back exactly the drawn findings.
# So the label set of a retrieved report measures what the retrieval got right, and a system that
# knows each study's findings (the oracle of page 5) scores a finding F1 near 1. This is a model of
# IU X-ray, not IU X-ray: real abnormal reports also mention findings outside the seven and mix
# findings within sentences.

# %%
abnormal = [s for s in every if s.findings]
normal = [s for s in every if s.findings is not None and not s.findings]
study_grid(normal[:1] + abnormal[:3], n=4)
plt.show()

# %% [markdown]
# ## Findings and imbalance
# 40 % of synthetic studies are normal (the labeller finds none of the seven findings in about 60 %
# of real reports; we keep more abnormal studies so that the finding measures have enough positives
# on a small test split); among the rest, granuloma, cardiomegaly and degenerative spine are common
# and pneumothorax is rare, as in the real shares above. The generator's rates:

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
# `file` to keep annotation.json's own split). The synthetic generator writes R2Gen's 7:1:2, which
# gives the larger test split (at least 120 studies in the default profile).

# %%
split_table = pd.DataFrame({name: finding_table(part) | {"studies": len(part)} for name, part in studies.items()})
split_table

# %% [markdown]
# ## Reports: synthetic beside real
# Lengths in words (R2Gen-cleaned) of the synthetic reports and of the real training reports, and
# the same statistics as for the real file. The most frequent training report is counted on cleaned
# text (case, punctuation and spacing do not make two reports different); ties go to the first in
# training order.

# %%
synthetic_train = [s.report for s in studies["train"]]
stats = pd.DataFrame({"synthetic train": report_statistics(synthetic_train), "real train": real_stats["train"]})
display(stats.round(3))
fig, ax = plt.subplots(figsize=(5.5, 3))
bins = np.arange(0, 101, 4)
for name, texts in (("real IU X-ray train", real_train), (f"synthetic train ({profile})", synthetic_train)):
    ax.hist([len(" ".join(t.split()).split()) for t in texts], bins=bins, density=True, alpha=0.6, label=name)
ax.set_xlabel("words per report")
ax.set_ylabel("share of reports")
ax.legend(fontsize=8)
ax.set_title("report length", fontsize=10)
plt.show()
frequent = most_frequent_report_info(synthetic_train)
print(f"most frequent synthetic training report ({frequent['count']} of {frequent['n']}, "
      f"{frequent['tied']} report(s) with that count): {frequent['report']!r}")

# %%
record("radiology/01-data",
       {"n_train": len(studies["train"]), "n_val": len(studies["val"]), "n_test": len(studies["test"]),
        "normal_fraction": counts["normal"] / len(every), "mean_report_words": stats.loc["mean_words", "synthetic train"],
        "distinct_train_reports": int(stats.loc["distinct_reports", "synthetic train"]),
        "real_train_reports": len(real_train), "real_mean_words": real_stats.loc["mean_words", "train"],
        "real_vocabulary": int(real_stats.loc["vocabulary", "train"]),
        "real_normal_fraction": real_stats.loc["normal_fraction", "train"],
        "real_distinct_reports": int(real_stats.loc["distinct_reports", "train"]),
        "real_top_report_count": int(real_stats.loc["top_report_count", "train"])},
       profile=profile, seed=seed, data=f"{source}; real IU X-ray reports (data/real/iu_xray, no images)")

# %% [markdown]
# The real training reports ({glue:text}`real_train_reports:.0f` of them) average
# {glue:text}`real_mean_words:.1f` words over a vocabulary of {glue:text}`real_vocabulary:.0f`
# cleaned words; only {glue:text}`real_distinct_reports:.0f` are distinct, the most frequent occurs
# {glue:text}`real_top_report_count:.0f` times, and the labeller finds none of the seven findings in
# {glue:text}`real_normal_fraction:.2f` of them. In this run's synthetic data
# ({glue:text}`n_train:.0f` training, {glue:text}`n_val:.0f` validation and {glue:text}`n_test:.0f`
# test studies), {glue:text}`normal_fraction:.2f` of studies are normal, reports average
# {glue:text}`mean_report_words:.1f` words, and the training set holds
# {glue:text}`distinct_train_reports:.0f` distinct reports.
