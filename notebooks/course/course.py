# %% [markdown]
# # Teaching a course with the book
#
# Six sessions: the evaluation toolkit, then one paper per session. Each session reads one chapter (the paper's
# landing page first, then its six notebooks) and works through the chapter's exercises. Every exercise has a
# worked solution, collapsed under the exercise in the book and removed from the students' copies; solutions
# that are code are executed in the `smoke` profile by CI like every other cell, so they cannot go stale.
#
# **Prerequisites.** Python and NumPy; PyTorch at the level of writing a training loop; a first course in
# machine learning (cross-entropy, overfitting, train/validation/test splits). The toolkit session covers the
# evaluation measures the chapters use (ROC AUC with DeLong's intervals, COCO AP, Recall@K, BLEU/ROUGE, colour
# differences). No GPU is needed: every notebook runs on a laptop CPU in the `default` profile, and in seconds in
# `smoke`.
#
# **How students run the notebooks.**
# - On their own machine: clone the repository, `make lab` (creates the environment on first use, opens
#   JupyterLab with the project's kernel). Each notebook's first cell is a collapsed `parameters` cell: the
#   profile (`smoke` for a quick look, `default` for the chapter's real run) and the settings of that profile.
# - Without installing anything: the launch buttons at the top of each page (Binder, Colab); the notebook's
#   hidden first cell installs the library there.
# - Students' copies: `python -m companion.book student` writes every notebook with the solutions removed to
#   `build/student/handouts/<chapter>/` (`--chapter eapm` for one chapter); hand those out.
#   `python -m companion.book run --profile smoke --strip-solutions` also executes them (in `build/student`,
#   apart from the book's own results), which checks that no later cell depends on a solution.
#
# **Kinds of exercise.** *Predict, then run*: change one parameter the paper discusses, write down what you
# expect, run, compare. *Derive*: a short derivation from the paper's equations. *Extend*: a few lines of code
# against the library (a baseline, an ablation row, a claim). Numbers in the solutions are printed by the
# solution's own code, from the run the student makes.

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
device = "auto"

# %% [markdown]
# ## The sessions
#
# | session | learning goals |
# | --- | --- |
# | 0. Set-up and the evaluation toolkit | run a notebook in two profiles and find its numbers in the registry; compute ROC AUC with a DeLong interval, COCO AP, Recall@K and corpus BLEU, and say what each one ignores |
# | 1. Radiology report generation | contrastive image–report training; why BLEU has little headroom on report text and what finding-level F1 adds; image-blind baselines and an oracle as the two ends of a scale |
# | 2. Recalled-benign mammograms | patient-level splits and cross-validation; AUC with intervals and paired comparisons; how preprocessing can erase the signal (histogram equalisation); Grad-CAM and how to test what it shows |
# | 3. Cross-lingual image retrieval | zero-shot transfer through a multilingual sentence encoder; the M3L and PATR losses term by term; comparing losses at equal, tuned budgets with seeds |
# | 4. EAPM for object detection | anchors, strides and BatchNorm as the set-up a detector needs to learn at all; focal loss and its modulation by example attributes; a control for "it only learns faster" |
# | 5. Superpixel colour transfer | deep features as a matching space; soft attention as a soft nearest neighbour; an ablation that removes the contribution, and paired tests over images |
#
# A session of about three hours: the landing page and notebooks 01–03 in the first half (data, model,
# training), 04–06 in the second (ablations, evaluation against the paper, figures), with the exercises where
# they appear. Assign the chapter's `default` run as homework before the session when the table below says it
# takes more than a few minutes.

# %% [markdown]
# ## Notebooks, exercises and run times
# Per session, then per notebook: how many exercises, how many with code solutions, and the wall-clock time of
# the notebook's last run by the book's runner in the `smoke` and `default` profiles (one CPU thread per
# notebook), read from this build's timing logs. A profile this build has not run shows *not run*: CI builds the
# book in `smoke` only; `make test && make book` on a laptop fills both columns for that laptop. A session's
# total is shown only when every one of its notebooks has a time.

# %% tags=["hide-input"]
from companion.book.teaching import course_summary, course_table, exercise_table

course = course_table()
print(f"timing logs in this build: {', '.join(course.attrs['sources']) or 'none yet'} "
      f"(this page runs in profile {profile!r})")
course_summary(course).style.format(precision=1, na_rep="not run")

# %% tags=["hide-input"]
(course.assign(notebook=course["notebook"].str.split("/").str[1]).set_index(["session", "notebook"])
 .style.format(precision=1, na_rep="not run"))

# %% [markdown]
# ## Every exercise
# Labels can be cited from anywhere in the book (`` {ref}`eapm-ex-mu` ``); *solution* says whether the worked
# solution is text or code.

# %% tags=["hide-input"]
exercises = exercise_table()
print(f"{len(exercises)} exercises, {int((exercises['solution'] == 'code').sum())} with code solutions")
exercises.set_index(["notebook", "label"]).style
