# %% [markdown]
# # Reproduction scorecard
#
# The whole book on one page. First, for each chapter, the headline measure with its trivial baseline and its
# ceiling (the Measurement contract: a number means something only between those two), and how many of the
# paper's claims a run could test and how many held. Then every claim, with the paper's number, ours and the
# verdict, as each chapter's evaluation page decided it. Last, every number the papers report beside ours.
# Our runs use the embedded synthetic data unless a row says otherwise, so agreement in *size* is not expected;
# the chapters discuss which *comparisons* (rankings, gaps, trends) carry over.

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

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display

from companion.book.registry import load_results
from companion.book.scorecard import HEADROOM_LABELS, PAPER_CHAPTERS, claims_rows, headroom_rows, reported_table, styled

if not load_results(profile):
    display(Markdown(f"**Nothing recorded in profile `{profile}` yet.** Run `make book` (or "
                     f"`python -m companion.book run --profile {profile}`) first; this page reads what the "
                     "chapters' notebooks record."))
headroom = pd.DataFrame(headroom_rows(profile))
print(f"Registry profile: {profile}")
styled(headroom.drop(columns="data").rename(columns=HEADROOM_LABELS),
       numeric=tuple(HEADROOM_LABELS.values()) + ("gap closed",))

# %% [markdown]
# *baseline*, *ours* and *ceiling* are the chapter's headline measure (its evaluation page says which) for a
# trivial system, our model and a perfect reader of the data; *gap closed* is (ours − baseline) /
# (ceiling − baseline): 0 is no better than the trivial baseline, 1 is the ceiling. *claims* counts the paper's
# claims listed, *testable* those a run could decide, *held* those that held. The data each row comes from:

# %% tags=["hide-input"]
headroom[["chapter", "data"]].style.hide(axis="index")

# %% [markdown]
# ## Every claim, as the chapters tested it

# %% tags=["hide-input"]
claims = pd.DataFrame(claims_rows(profile), columns=["chapter", "claim", "paper", "this run", "criterion", "holds"])
print(f"{len(claims)} claims stored by {claims['chapter'].nunique()} chapters' evaluation pages")
styled(claims)

# %% [markdown]
# ## The papers' numbers beside ours

# %% tags=["hide-input"]
for chapter, title in PAPER_CHAPTERS.items():
    table, common, notes = reported_table(profile, chapter)
    display(Markdown(f"### [{title}](../../{chapter}/index.html)\n\nOur runs: {common}"))
    display(styled(table, numeric=("paper", "ours")))
    if notes:
        display(Markdown("\n".join(f"{i}. {note}" for i, note in enumerate(notes, 1))))

# %% [markdown]
# ## How long each notebook took
# Wall-clock seconds of the last execution of every notebook by the runner in this
# profile, on the machine that built this page (the device column of each chapter's
# training page says which). The scorecard itself runs last, so it is not listed.

# %%
from companion.book.registry import load_timings
from companion.core import describe_device

timings = pd.Series({k: v for k, v in load_timings(profile).items() if not k.startswith("scorecard/")},
                    name="seconds", dtype=float)
timings.index.name = "notebook"
print(f"{describe_device(device)['name']}; total {timings.sum():.0f} s over {len(timings)} notebooks")
styled(timings.to_frame().reset_index(), numeric=("seconds",))
