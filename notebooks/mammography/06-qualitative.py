# %% [markdown]
# # What the network looks at
#
# The paper ends with an open problem: "we are not yet able to clearly visualize and clinically
# interpret what the identified nuanced imaging features are". Grad-CAM {cite}`selvaraju2017`
# is one standard answer: it weights the last convolutional layer's feature maps by the gradient
# of the class score and shows where in the image the evidence for that class lies. Below, maps
# of the malignant score for correct and incorrect calls of one model from the evaluation page
# (loaded from its checkpoint, or retrained when the cache is empty).

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
cam_strategy = 'ffdm'
cam_scenario = 'malignant_vs_negative'
n_examples = 8

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from companion.book import record
from companion.book.paths import cache_dir
from companion.core import select_device
from companion.mammography.data import SCENARIO_TITLES, SCENARIOS, MammogramDataset
from companion.mammography.evaluate import cam_findings_of_run, cam_on_breast, grad_cam
from companion.mammography.figures import STRATEGY_TITLES, cam_grid, image_grid
from companion.mammography.train import TrainConfig, chapter_data, train_or_load

dev = select_device(device)
data, data_desc = chapter_data(profile, seed, manifest=manifest, n_ffdm=n_ffdm, n_ddsm=n_ddsm, n_interval=n_interval,
                            image_size=image_size, input_size=input_size, test_fraction=test_fraction)
config = TrainConfig.from_params(dict(backbone=backbone, batch_norm=batch_norm, alexnet_weights=alexnet_weights, width=width,
                     fc_features=fc_features, dropout=dropout, input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr,
                     lr_step_iterations=lr_step_iterations, flip=flip, seed=seed, strategy=cam_strategy, scenario=cam_scenario))
run = train_or_load(config, data, cache_dir(f"mammography/{profile}"), device=dev)
positive = " + ".join(SCENARIOS[cam_scenario][0]) if SCENARIOS[cam_scenario] else "predicted class"
print(f"{STRATEGY_TITLES[cam_strategy]}, {SCENARIO_TITLES[cam_scenario]}: {len(run.y_true)} test images")

# %% [markdown]
# ## What the network receives
# One preprocessed test image per class and domain (histogram-equalised, resampled to the input size),
# before mean subtraction.

# %%
from companion.mammography import LABELS

picks, names = [], []
m = data.manifest
for dataset in ("ffdm", "ddsm"):
    for label in LABELS:
        rows = np.flatnonzero((m["dataset"] == dataset).to_numpy() & (m["label"] == label).to_numpy()
                              & (m["split"] == "test").to_numpy())
        if len(rows):
            picks.append(data.images[rows[0]])
            names.append(f"{dataset.upper()} {label.replace('_', '-')}")
fig = image_grid(picks, names, ncols=3, size=2.4)
plt.show()

# %% [markdown]
# ## Correct and incorrect calls
# At a threshold of 0.5 on the positive-class probability, the test images fall into true and
# false positives and negatives. We take up to a quarter of `n_examples` from each group, in test-set order.

# %%
called = run.proba.argmax(1)
groups = {"true positive": (run.y_true == 1) & (called == 1), "false negative": (run.y_true == 1) & (called == 0),
          "false positive": (run.y_true == 0) & (called == 1), "true negative": (run.y_true == 0) & (called == 0)}
per_group = max(1, n_examples // 4)
chosen, titles = [], []
for name, mask in groups.items():
    for i in np.flatnonzero(mask)[:per_group]:
        chosen.append(i)
        titles.append(f"{name}\np({positive.replace('_', '-')})={run.proba[i, 1]:.2f}")
pd.Series({name: int(mask.sum()) for name, mask in groups.items()}, name="test images").to_frame()

# %%
indices = run.test_index[chosen]
dataset = MammogramDataset(data.images[indices], run.y_true[chosen], run.centre)
x = dataset.tensors().to(dev)
cams = grad_cam(run.model, run.model.cam_layer, x, target=torch.ones(len(chosen), dtype=torch.long, device=dev))
fig = cam_grid(data.images[indices], cams, titles, ncols=4)
plt.show()

# %% [markdown]
# ## Does the evidence lie in the breast?
# A first, quantitative sanity check of the maps: the share of Grad-CAM mass that falls on the
# breast (pixels above the background) rather than on the air, labels or the image border. A model
# that learned shortcuts from scanner artefacts would put its evidence outside the breast.

# %%
all_x = MammogramDataset(data.images[run.test_index], run.y_true, run.centre).tensors().to(dev)
all_cams = grad_cam(run.model, run.model.cam_layer, all_x,
                    target=torch.ones(len(run.test_index), dtype=torch.long, device=dev))
on_breast = cam_on_breast(all_cams, data.images[run.test_index])
breast_share, area_share = on_breast["cam_share"], on_breast["area_share"]
print(f"Grad-CAM mass on the breast: {breast_share:.3f} (the breast covers {area_share:.3f} of the image)")

# %% [markdown]
# ## Does the evidence gather on the findings?
# On synthetic data we know where each finding is (the generator's latent labels), so the claim
# can be measured rather than eyeballed: for every positive test image that shows a finding, the
# share of its Grad-CAM mass inside the finding's disc, against random smooth maps that know
# nothing of the image (their share is about the disc's area share), with a one-sided Wilcoxon test.

# %%
cam_check = cam_findings_of_run(run, data, dev, seed=seed)
cam_check_table = pd.Series(cam_check if cam_check is not None else {}, dtype=float).to_frame("value")
cam_check_table

# %% [markdown]
# ## Mean maps per class
# Averaging the maps over each true class shows whether the network attends to a common location
# (e.g. the chest wall or the pectoral muscle) rather than to lesions, which can sit anywhere.

# %%
means = [all_cams[run.y_true == c].mean(0) for c in (0, 1) if np.any(run.y_true == c)]
names = [f"mean map, {'positive' if c else 'negative'} images" for c in (0, 1) if np.any(run.y_true == c)]
fig = image_grid(means, names, ncols=2, cmap="jet", size=2.8)
plt.show()

# %%
cam_metrics = {"cam_mass_on_breast": breast_share, "breast_area_share": area_share}
if cam_check is not None:
    cam_metrics.update({"cam_in_finding": cam_check["cam_share"], "cam_in_finding_random": cam_check["random_share"],
                        "cam_in_finding_p": cam_check["p_value"], "cam_in_finding_n": cam_check["n"]})
record("mammography/06-qualitative", cam_metrics,
       profile=profile, seed=seed, data=data_desc, device=str(dev))

# %% [markdown]
# In this run {glue:text}`cam_mass_on_breast:.2f` of the Grad-CAM mass lies on the breast, which covers
# {glue:text}`breast_area_share:.2f` of the image. Inside the findings themselves lies a share of
# {glue:text}`cam_in_finding:.3f` of the mass, against {glue:text}`cam_in_finding_random:.3f` for random
# maps (one-sided Wilcoxon p = {glue:text}`cam_in_finding_p:.2g`, {glue:text}`cam_in_finding_n:.0f` images;
# profile and data as printed above). Whether that counts as "gathering on findings" is the
# evaluation page's claim row, with its criterion written out. For a radiologist, maps like these
# are where a reader study would start, which the paper proposes.
