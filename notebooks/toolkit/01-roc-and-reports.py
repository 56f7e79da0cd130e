# %% [markdown]
# # Evaluation toolkit I: ROC analysis and report-generation scores
#
# Every number in this book is only as trustworthy as the function that computed it. This page
# walks through the two metric families of `companion.metrics` that papers 1 and 2 are judged by:
#
# * **`companion.metrics.roc`** (paper 2, mammography): the AUC, its DeLong and bootstrap
#   confidence intervals, DeLong's paired test, specificity at a fixed sensitivity, the
#   triple-class summary, and multiple-comparison adjustment;
# * **`companion.metrics.nlg`** (paper 1, radiology reports): R2Gen's report cleaning and the
#   coco-caption scores BLEU-1..4, METEOR, ROUGE-L and CIDEr.
#
# Each metric is computed by the library on a small worked example, so the page and the unit
# tests (which check the library against R's pROC, pycocoevalcap, sacrebleu, nltk and scikit-learn)
# exercise the same code. All scores below are **synthetic**: simulated classifier outputs and a
# handful of hand-written IU X-ray-style reports, generated from the `seed` parameter.

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

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import norm

from companion.book import record
from companion.metrics import nlg, roc

rng = np.random.default_rng(seed)
pd.set_option("display.precision", 4)
pd.set_option("display.max_colwidth", None)
print(f"profile {profile!r}, seed {seed}")

# %% [markdown]
# ## A synthetic reader study
#
# We simulate a test set shaped like paper 2's binary scenario *malignant vs negative*: 120
# malignant images (cases, label 1) and 180 negative ones (controls, label 0). Two classifiers,
# A and B, see the same images; their scores share a latent "visibility" of the finding, so
# their errors are correlated, as two CNNs evaluated on one test set are. Scores are rounded to
# two decimals, which creates ties, as softmax outputs stored with limited precision do.

# %%
n_cases, n_controls = 120, 180
y = np.r_[np.ones(n_cases, int), np.zeros(n_controls, int)]
latent = rng.normal(size=y.size) + 1.1 * y
score_a = np.round(1 / (1 + np.exp(-(latent + rng.normal(scale=0.6, size=y.size)))), 2)
score_b = np.round(1 / (1 + np.exp(-(0.8 * latent + rng.normal(scale=0.9, size=y.size)))), 2)
print(f"{y.sum()} cases, {(1 - y).sum()} controls; distinct scores: A {np.unique(score_a).size}, "
      f"B {np.unique(score_b).size}")

# %% [markdown]
# ## ROC curve and AUC
#
# Labels are 0/1 with 1 = case, and a higher score means "more likely a case"; the direction is
# fixed (pROC's `direction="<"`), never flipped to make an AUC exceed 0.5. The AUC is the
# Mann-Whitney statistic: the probability that a random case outscores a random control, ties
# counting one half,
#
# $$\hat\theta = \frac{1}{mn}\sum_{i=1}^{m}\sum_{j=1}^{n}\Big([X_i > Y_j] + \tfrac12[X_i = Y_j]\Big),$$
#
# which equals the area under the empirical ROC curve with ties drawn as diagonal segments.

# %%
auc_a, auc_b = roc.auc(y, score_a), roc.auc(y, score_b)
fig, ax = plt.subplots(figsize=(4.6, 4.4))
for scores, name, value in ((score_a, "A", auc_a), (score_b, "B", auc_b)):
    fpr, tpr, _ = roc.roc_curve(y, scores)
    ax.plot(fpr, tpr, label=f"classifier {name}: AUC = {value:.3f}")
ax.plot([0, 1], [0, 1], ls=":", color="grey", label="chance")
ax.set_xlabel("1 - specificity (false-positive rate)")
ax.set_ylabel("sensitivity (true-positive rate)")
ax.set_title(f"Synthetic malignant vs negative ({profile}, seed {seed})", fontsize=10)
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ```{exercise} Predict, then run: reverse the scores
# :label: toolkit-ex-reverse
#
# Suppose classifier A's scores are reversed (`1 - score_a`: high now means "more likely a control").
# Before running anything, write down the AUC you expect and why. Then compute it with `roc.auc`.
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} toolkit-ex-reverse
# :class: dropdown
# ```

# %% tags=["solution"]
reversed_auc = roc.auc(y, 1 - score_a)
print(f"AUC of A: {auc_a:.4f}; of the reversed scores: {reversed_auc:.4f}; sum {auc_a + reversed_auc:.4f}")

# %% [markdown] tags=["solution"]
# Every case–control pair that A orders correctly is ordered wrongly by the reversed scores and the other way
# round, and a tie stays a tie (it counts one half in both). So the two AUCs add up to exactly 1, as printed.
# The library never flips the direction to make an AUC exceed 0.5: an AUC below 0.5 is a finding (a sign error,
# swapped labels), not something to hide.
#
# ```{solution-end}
# ```

# %% [markdown]
# ## Confidence intervals: DeLong vs bootstrap
#
# **DeLong** {cite}`delong1988` estimates the AUC's variance from the *placement values*: for
# each case the fraction of controls it beats, $V_{10}(X_i)$, and for each control the fraction
# of cases that beat it, $V_{01}(Y_j)$:
# $\widehat{\operatorname{Var}}\,\hat\theta = s^2(V_{10})/m + s^2(V_{01})/n$. The library computes
# the placement values with the midrank algorithm of {cite}`sun2014` (three sorts, O(N log N),
# no m×n matrix); the interval is the Wald interval $\hat\theta \pm z_{0.975}\,\mathrm{sd}$,
# clipped to [0, 1]. The unit tests check these numbers against R's pROC to 1e-9 relative.
#
# **Bootstrap** (what paper 2 reports): resample cases and controls separately with replacement
# (stratified, so every replicate keeps 120 cases and 180 controls), recompute the AUC 2,000
# times and take the 2.5 and 97.5 percentiles.

# %%
delong = roc.delong_ci(y, score_a)
boot = roc.bootstrap_ci(y, score_a, n_boot=2000, level=0.95, stratified=True, seed=seed)
pd.DataFrame([delong.__dict__, boot.__dict__]).set_index("method")

# %%
# the replicates behind bootstrap_ci: same data, same seed, same draws
replicates = roc.bootstrap_aucs(y, score_a, n_boot=2000, stratified=True, seed=seed)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.hist(replicates, bins=40, density=True, alpha=0.6, label="2,000 stratified bootstrap AUCs")
grid = np.linspace(min(replicates), max(replicates), 200)
ax.plot(grid, norm.pdf(grid, delong.auc, np.sqrt(delong.variance)), color="C3", label="DeLong normal approximation")
for v in (boot.low, boot.high):
    ax.axvline(v, color="C0", ls="--", lw=1)
for v in (delong.low, delong.high):
    ax.axvline(v, color="C3", ls=":", lw=1)
ax.set_xlabel("AUC of classifier A")
ax.set_ylabel("density")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ```{exercise} Derive: the placement values average to the AUC
# :label: toolkit-ex-placements
#
# With $m$ cases $X_i$ and $n$ controls $Y_j$, define $V_{10}(X_i) = \frac1n\sum_j \psi(X_i, Y_j)$ and
# $V_{01}(Y_j) = \frac1m\sum_i \psi(X_i, Y_j)$, where $\psi(x, y) = [x > y] + \tfrac12[x = y]$.
# Show that the mean of the $V_{10}$ and the mean of the $V_{01}$ both equal $\hat\theta$, and explain why
# DeLong's variance has one term shrinking like $1/m$ and one like $1/n$.
# ```

# %% [markdown] tags=["solution"]
# ```{solution} toolkit-ex-placements
# :class: dropdown
#
# $\frac1m\sum_i V_{10}(X_i) = \frac{1}{mn}\sum_i\sum_j \psi(X_i, Y_j) = \hat\theta$, and the same double
# sum appears when the $V_{01}$ are averaged over $j$. $\hat\theta$ is a two-sample U-statistic: its variance
# decomposes into the variance of the case-level averages (how much the AUC moves when one case is replaced,
# estimated by $s^2(V_{10})$, averaged over $m$ cases, hence $/m$) plus the same for the controls ($/n$). With
# few cases, the case term dominates: that is why a test set with 36 malignant images gives a wide interval
# however many negatives it has.
# ```

# %% [markdown]
# ```{exercise} Extend: how the interval narrows with the test set
# :label: toolkit-ex-width
#
# Keep only every fourth case and every fourth control of the simulated study and compute DeLong's interval
# again. By the argument of the previous exercise, by what factor do you expect the width to grow? Check it.
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} toolkit-ex-width
# :class: dropdown
# ```

# %% tags=["solution"]
quarter = np.r_[np.flatnonzero(y == 1)[::4], np.flatnonzero(y == 0)[::4]]
small = roc.delong_ci(y[quarter], score_a[quarter])
ratio = (small.high - small.low) / (delong.high - delong.low)
print(f"{int(y[quarter].sum())} cases, {int((1 - y[quarter]).sum())} controls: AUC {small.auc:.3f} "
      f"[{small.low:.3f}, {small.high:.3f}]; width ratio {ratio:.2f} (sqrt(4) = 2)")

# %% [markdown] tags=["solution"]
# Both variance terms are divided by a sample size four times smaller, so the standard deviation, and the
# interval's width, grow by about $\sqrt 4 = 2$; the printed ratio differs from 2 only because the quarter
# sample's own placement values have a different spread.
#
# ```{solution-end}
# ```

# %% [markdown]
# The two intervals agree closely here (about 300 images, AUC well inside (0, 1)). They part
# ways when the AUC is near 1 (the Wald interval is symmetric and must be clipped, the bootstrap
# one is skewed) or when there are very few cases (the bootstrap then has few distinct
# replicates). The library returns both in the same `AUCInterval(auc, low, high, level,
# variance, method)` record; for the bootstrap, `variance` is the variance of the replicates.

# %% [markdown]
# ## Comparing two classifiers: DeLong's paired test
#
# A and B were scored on the *same* images, so their AUCs are correlated. DeLong's test uses the
# covariance of the two placement-value vectors:
# $z = (\hat\theta_A - \hat\theta_B)/\sqrt{\operatorname{Var}_A + \operatorname{Var}_B - 2\operatorname{Cov}_{AB}}$,
# two-sided $p = 2\Phi(-|z|)$. Ignoring the covariance (an "unpaired" z) overstates the
# uncertainty of the difference whenever the classifiers agree with each other.

# %%
test = roc.delong_test(y, score_a, score_b)
unpaired_z = (test.auc_a - test.auc_b) / np.sqrt(test.var_a + test.var_b)
pd.Series({**test.__dict__, "correlation of the AUCs": test.cov / np.sqrt(test.var_a * test.var_b),
           "z ignoring the covariance": unpaired_z,
           "p ignoring the covariance": 2 * norm.sf(abs(unpaired_z))}, name="A vs B").to_frame()

# %% [markdown]
# Paper 2 compares several training strategies over six classification scenarios, so it runs a
# *family* of DeLong tests. With many tests, some small p-values arise by chance; Holm's
# step-down procedure {cite}`holm1979` controls the family-wise error rate without assuming
# independence (`adjust_pvalues`, via statsmodels). Below, five synthetic scenarios in which B's
# scores carry less of the signal than A's by margins from 0 (no true difference) to 0.5:

# %%
rows = []
for k, gap in enumerate([0.0, 0.1, 0.2, 0.3, 0.5]):
    r = np.random.default_rng(seed + 100 + k)
    yk = np.r_[np.ones(100, int), np.zeros(150, int)]
    lat = r.normal(size=250) + 1.0 * yk
    sa = lat + r.normal(scale=0.7, size=250)
    sb = (1 - gap) * lat + r.normal(scale=0.7, size=250)
    t = roc.delong_test(yk, sa, sb)
    rows.append({"scenario": f"S{k + 1} (gap {gap})", "AUC A": t.auc_a, "AUC B": t.auc_b, "z": t.z, "p": t.p_value})
family = pd.DataFrame(rows).set_index("scenario")
family["p (Holm)"] = roc.adjust_pvalues(family["p"], method="holm")
family["p (Bonferroni)"] = roc.adjust_pvalues(family["p"], method="bonferroni")
family

# %% [markdown]
# ## Specificity at a fixed sensitivity
#
# Paper 2 compares its best model with radiologists by reading the ROC curve at the radiologists'
# reported sensitivity of 86.9 % {cite}`lehman2017`. `specificity_at_sensitivity` takes the
# observed scores as thresholds (positive when `score >= t`) and, among those whose sensitivity
# is at least the target, the most specific one. No interpolation: with 120 cases, 86.9 % means
# calling at least ⌈0.869 × 120⌉ = 105 cases positive, so the achieved sensitivity is 105/120 or
# more (ties at the threshold can add cases).

# %%
target_sensitivity = 0.869
spec_a = roc.specificity_at_sensitivity(y, score_a, target_sensitivity)
spec_b = roc.specificity_at_sensitivity(y, score_b, target_sensitivity)
fpr, tpr, _ = roc.roc_curve(y, score_a)
fig, ax = plt.subplots(figsize=(4.6, 4.4))
ax.plot(fpr, tpr, label="classifier A")
ax.axhline(target_sensitivity, color="grey", ls="--", lw=1, label="sensitivity 86.9 %")
ax.axvline(1 - spec_a, color="C3", ls=":", lw=1, label=f"specificity {spec_a:.3f}")
ax.set_xlabel("1 - specificity")
ax.set_ylabel("sensitivity")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
plt.show()
print(f"specificity at >= 86.9 % sensitivity: A {spec_a:.3f}, B {spec_b:.3f}")

# %% [markdown]
# ## The triple-class summary
#
# For the three-class scenario (malignant vs negative vs recalled-benign) paper 2 "generat[es] an
# ROC curve for each binary-class combination and then report[s] the average of the AUCs". That
# leaves open which images and which score each pairwise curve uses. `pairwise_auc_summary`
# uses the symmetric convention of Hand & Till {cite}`hand2001`: for a class pair (a, b), keep
# only the images of a and b, compute the AUC of $p_b$ separating b from a and the AUC of $p_a$
# separating a from b, and average the two; the summary is the mean over the three pairs. This
# equals scikit-learn's `roc_auc_score(..., multi_class="ovo", average="macro")`. A
# one-vs-rest average, another reading of the sentence, gives a different number as soon as the
# classes are unbalanced (with equal class sizes the two coincide, since "the rest" is then an
# even mix of the other two classes). Our three classes have 140, 100 and 60 images:

# %%
from sklearn.metrics import roc_auc_score

classes = ["negative", "recalled-benign", "malignant"]
class_sizes = [140, 100, 60]
y3 = np.repeat([0, 1, 2], class_sizes)
centres = np.array([[1.0, 0.0, 0.0], [0.4, 0.9, 0.2], [0.0, 0.5, 1.2]])  # benign sits between the others
logits = centres[y3] * 1.5 + rng.normal(size=(y3.size, 3))
proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
summary = roc.pairwise_auc_summary(y3, proba)
pair_rows = []
for (a, b), value in summary.pairs.items():
    keep = np.isin(y3, (a, b))
    pair_rows.append({"pair": f"{classes[a]} / {classes[b]}",
                      f"AUC of p_b": roc.auc(y3[keep] == b, proba[keep, b]),
                      f"AUC of p_a": roc.auc(y3[keep] == a, proba[keep, a]),
                      "symmetric (used)": value})
pairs_table = pd.DataFrame(pair_rows).set_index("pair")
ovr = roc_auc_score(y3, proba, multi_class="ovr", average="macro")
ovo = roc_auc_score(y3, proba, multi_class="ovo", average="macro")
display(pairs_table)
pd.Series({"pairwise_auc_summary (mean of symmetric pairs)": summary.mean,
           "scikit-learn one-vs-one macro": ovo, "scikit-learn one-vs-rest macro": ovr}, name="AUC").to_frame()

# %% [markdown]
# ## Speed
#
# The midrank implementation never forms the m×n comparison matrix. The benchmark script
# `benchmarks/delong_benchmark.py` times the paired test on a million scores and against a naive
# O(mn) implementation; the timing below is this run's, on this page's machine, and is not
# recorded as a result because it depends on the hardware and its load.

# %%
r = np.random.default_rng(seed)
y_big = (r.random(1_000_000) < 0.3).astype(int)
lat_big = r.normal(size=y_big.size) + 0.8 * y_big
a_big, b_big = lat_big + r.normal(size=y_big.size), lat_big + 1.5 * r.normal(size=y_big.size)
t0 = time.perf_counter()
big = roc.delong_test(y_big, a_big, b_big)
print(f"DeLong paired test on {y_big.size:,} scores: {time.perf_counter() - t0:.2f} s (z = {big.z:.1f})")

# %% [markdown]
# ## Report generation: cleaning comes first
#
# Radiology report generators on IU X-ray (R2Gen {cite}`chen2020r2gen` and the papers that
# compare with it, including paper 1's Table 1) are scored on reports cleaned by R2Gen's
# `clean_report_iu_xray`: collapse "..", drop list numbering "1. " ... "5. ", lowercase, split
# into sentences on ". ", delete punctuation inside each sentence, and join the sentences with
# " . ". `nlg.clean_report` reproduces it character for character, **quirks included**, because
# the published numbers were computed with them. Some of those quirks, on purpose:

# %%
examples = [
    "1. Heart size is normal. 2. No pneumothorax or pleural effusion.",
    "Lungs (bilaterally) clear; no focal airspace disease/consolidation.",
    "Compression deformity of T11. No effusion.",
    "Fracture of rib 3. Normal heart.",
    "Nodule measures 2.5 cm. Well-expanded lungs, size <5 mm.",
    "Normal. . Clear.",
]
notes = [
    "list numbering removed",
    "punctuation deleted inside sentences; '/' joins words",
    "'1. ' is deleted anywhere: 'T11. No' becomes 't1no'",
    "' 3. ' becomes a sentence break and the 3 is lost",
    "decimal point deleted (2.5 -> 25); '-' kept, '<' deleted",
    "empty sentence kept",
]
pd.DataFrame({"raw report": examples, "clean_report(raw)": [nlg.clean_report(t) for t in examples],
              "what happened": notes})

# %% [markdown]
# ## The coco-caption scores
#
# `score_reports(references, hypotheses)` cleans both sides and hands the whitespace-tokenised
# strings to `pycocoevalcap`, one reference per generated report, without the PTB tokenizer
# (R2Gen's convention):
#
# * **BLEU-n** {cite}`papineni2002`: clipped n-gram precisions pooled over the whole corpus,
#   their geometric mean up to order n, times a brevity penalty. Corpus-level, not a mean of
#   per-report BLEU.
# * **METEOR** 1.5 {cite}`denkowski2014`: unigram matches (exact, stem, synonym, paraphrase)
#   with a fragmentation penalty, via the Java jar shipped with pycocoevalcap.
# * **ROUGE-L** {cite}`lin2004`: the longest common subsequence's precision P and recall R,
#   combined as $F_\beta = (1+\beta^2)PR/(R+\beta^2P)$ with β = 1.2, averaged over reports.
# * **CIDEr-D** {cite}`vedantam2015`: tf-idf weighted n-gram cosine similarity with clipping and
#   a length penalty, ×10, idf taken from the references being scored.
#
# SPICE is not computed: it needs Stanford CoreNLP models that pycocoevalcap downloads at first
# use, and nothing can be downloaded here. Six report pairs, from a near-copy to a miss:

# %%
references = [
    "The heart is normal in size. The mediastinum is unremarkable. The lungs are clear.",
    "Heart size and mediastinal contour are normal. No pneumothorax or pleural effusion.",
    "Cardiomegaly. Small bilateral pleural effusions. No pneumothorax.",
    "Low lung volumes. Bibasilar atelectasis. Heart size within normal limits.",
    "No active disease.",
    "Right upper lobe opacity, concerning for pneumonia. Follow-up recommended.",
]
hypotheses = [
    "The heart is normal in size. The mediastinum is unremarkable. The lungs are clear.",
    "The heart is normal. No pleural effusion or pneumothorax.",
    "Heart size is enlarged. Small right pleural effusion.",
    "Lung volumes are low. There is bibasilar atelectasis. The heart is normal in size.",
    "No acute disease.",
    "The lungs are clear. No pneumothorax.",
]
# score_reports (corpus) and score_each_report (per report) would each start METEOR's JVM;
# score_systems returns both from one start.
corpus_scores, each = nlg.score_systems(references, {"example": hypotheses})["example"]
per_report = pd.DataFrame(each)
per_report.index = [f"pair {i + 1}" for i in range(len(references))]
display(per_report)
pd.Series(corpus_scores, name="corpus").to_frame().T

# %% [markdown]
# The corpus BLEU is not the mean of the per-report BLEU column (pooled n-gram counts vs an
# average of ratios); ROUGE-L and CIDEr are means of their columns; METEOR's corpus score is its
# own aggregate of the segment statistics.
#
# ## Why nltk's BLEU-4 and rouge-score's ROUGE-L give other numbers
#
# Both packages are correct implementations of *a* BLEU and *a* ROUGE-L; they differ from
# coco-caption in conventions, and the differences are large enough to move a model across a
# results table:

# %%
from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu
from rouge_score import rouge_scorer

clean_refs = [nlg.clean_report(t) for t in references]
clean_hyps = [nlg.clean_report(t) for t in hypotheses]
ref_tokens = [[r.split()] for r in clean_refs]
hyp_tokens = [h.split() for h in clean_hyps]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # nltk warns about zero n-gram counts without smoothing
    bleu_rows = {
        "coco-caption corpus BLEU-4 (score_reports)": corpus_scores["BLEU_4"],
        "nltk corpus_bleu, same cleaned tokens": corpus_bleu(ref_tokens, hyp_tokens),
        "nltk mean of sentence_bleu, no smoothing": np.mean(
            [sentence_bleu(r, h) for r, h in zip(ref_tokens, hyp_tokens)]),
        "nltk mean of sentence_bleu, smoothing method1": np.mean(
            [sentence_bleu(r, h, smoothing_function=SmoothingFunction().method1)
             for r, h in zip(ref_tokens, hyp_tokens)]),
        "nltk corpus_bleu on raw text split on spaces": corpus_bleu(
            [[t.split()] for t in references], [t.split() for t in hypotheses]),
    }
pd.Series(bleu_rows, name="BLEU-4").to_frame()

# %% [markdown]
# * On the same tokens, nltk's `corpus_bleu` *is* coco-caption's BLEU (to about 1e-9; coco adds
#   tiny constants to every ratio). The tests check this, and sacrebleu with `tokenize="none"`.
# * Averaging sentence-level BLEU is a different statistic: a report without any matching 4-gram
#   scores 0 (or a smoothed small value), and short reports weigh as much as long ones.
# * On raw text, "Clear." and "clear" are different tokens: tokenisation alone changes the score.

# %%
default_rouge = rouge_scorer.RougeScorer(["rougeL"])
same_tokens = rouge_scorer.RougeScorer(["rougeL"], tokenizer=nlg.WhitespaceTokenizer())
beta2 = 1.2 ** 2
rouge_rows = []
for i, (r, h) in enumerate(zip(clean_refs, clean_hyps)):
    s = same_tokens.score(r, h)["rougeL"]
    rouge_rows.append({
        "coco ROUGE-L (beta 1.2)": each["ROUGE_L"][i],
        "rouge-score F1, its tokenizer": default_rouge.score(r, h)["rougeL"].fmeasure,
        "rouge-score F1, same tokens": s.fmeasure,
        "rouge-score P, R recombined with beta 1.2": (1 + beta2) * s.precision * s.recall / (s.recall + beta2 * s.precision),
    })
rouge_table = pd.DataFrame(rouge_rows, index=per_report.index)
rouge_table.loc["mean"] = rouge_table.mean()
rouge_table

# %% [markdown]
# * coco-caption weighs recall more (β = 1.2) where rouge-score reports the F1 (β = 1); with the
#   same tokens, recombining rouge-score's precision and recall with β = 1.2 gives coco's number
#   exactly (last column).
# * rouge-score's default tokenizer drops the "." tokens that R2Gen's cleaning leaves between
#   sentences and splits hyphenated words, which changes the LCS.
# * With several references coco takes the best precision and the best recall separately, where
#   rouge-score's `score_multi` takes the best F; here there is one reference per report.

# %% [markdown]
# ## Recorded numbers
#
# On this run ({glue:text}`n_images:.0f` synthetic images), classifier A reached an AUC of
# {glue:text}`auc_a:.3f` (DeLong 95 % CI {glue:text}`delong_low:.3f`–{glue:text}`delong_high:.3f`,
# stratified bootstrap {glue:text}`boot_low:.3f`–{glue:text}`boot_high:.3f`) and B
# {glue:text}`auc_b:.3f`; DeLong's paired test gave p = {glue:text}`delong_p:.3g`. At 86.9 %
# sensitivity A's specificity is {glue:text}`spec_at_sens_869:.3f`. The triple-class summary is
# {glue:text}`triple_auc:.3f` (one-vs-rest reading: {glue:text}`triple_auc_ovr:.3f`). The six report pairs score BLEU-4 {glue:text}`BLEU_4:.3f`, METEOR
# {glue:text}`METEOR:.3f`, ROUGE-L {glue:text}`ROUGE_L:.3f` and CIDEr {glue:text}`CIDEr:.3f`.

# %%
record(
    "toolkit/01-roc-and-reports",
    {"n_images": float(y.size), "auc_a": auc_a, "auc_b": auc_b, "delong_low": delong.low, "delong_high": delong.high,
     "boot_low": boot.low, "boot_high": boot.high, "delong_z": test.z, "delong_p": test.p_value,
     "spec_at_sens_869": spec_a, "triple_auc": summary.mean, "triple_auc_ovr": ovr,
     **{k: v for k, v in corpus_scores.items()}},
    profile=profile, seed=seed, device="cpu",
    data=f"synthetic scores ({n_cases} cases / {n_controls} controls; {'/'.join(map(str, class_sizes))} three-class) "
         f"and {len(references)} hand-written IU X-ray-style report pairs",
)
