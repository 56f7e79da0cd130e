# %% [markdown]
# # 1. Data: scenes with captions in eleven languages
#
# The paper trains on English MSCOCO 2014 captions and tests on XTD10, 1,000 COCO
# images with one caption in each of eleven languages. Neither ships offline, so
# this chapter generates a miniature in **the same on-disk layout** (COCO captions
# json, XTD10's per-language caption files) and reads it back through the loaders
# that would read the real data. Images are rendered scenes of coloured shapes; the
# captions come from a hand-written grammar per language (agreement, cases, word
# order, counters), so a model trained on English can be tested zero-shot in the
# other ten languages.

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

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.book.paths import cache_dir, data_dir
from companion.core import select_device
from companion.crosslingual.grammar import LANGUAGES
from companion.crosslingual.train import synthetic_features

pd.set_option("display.max_colwidth", None)
dev = select_device(device)
root = data_dir("crosslingual", profile)
feats = synthetic_features(root, n_train=n_train, n_test=n_test, seed=seed, image_size=image_size,
                           captions_per_image=captions_per_image, cache_dir=cache_dir("crosslingual-embeddings"),
                           text_encoders=encoders)
encoders_run = list(feats.train_text)
data_desc = (f"synthetic scenes ({profile} profile): {len(feats.train.unique_images())} train images / "
             f"{len(feats.train)} English captions, {len(feats.test)} test images x 11 languages")
print(data_desc)
for enc, why in feats.skipped.items():
    print(f"skipped text encoder {enc}: {why}")

# %% [markdown]
# ## The files, in the real layouts

# %%
from companion.crosslingual.data import COCO_ANNOTATIONS, XTD10_FOLDER, xtd10_caption_path

for path in [root / COCO_ANNOTATIONS, root / XTD10_FOLDER / "test_image_names.txt",
             *[xtd10_caption_path(root / XTD10_FOLDER, lang) for lang in ("en", "ja", "ko")]]:
    print(path.relative_to(root))

# %% [markdown]
# The XTD10 test images are COCO *train2014* images, so the training loader must
# exclude them; the check below fails loudly if any leaked.

# %%
overlap = set(feats.train.file_names) & set(feats.test.image_names)
assert not overlap, f"{len(overlap)} test images in the training set"
print(f"train images {len(feats.train.unique_images())}, test images {len(feats.test)}, overlap {len(overlap)}")

# %% [markdown]
# ## Test images with their captions

# %%
from companion.crosslingual.data import load_images

from companion.crosslingual.figures import caption_lengths, image_strip, scene_statistics

names = feats.test.image_names[:4]
image_strip(load_images(root / "train2014", names, image_size), feats.test.captions["en"][:4])
plt.show()

# %%
pd.DataFrame({lang: feats.test.captions[lang][:3] for lang in LANGUAGES}).T.rename(columns=lambda i: f"image {i}")

# %% [markdown]
# ## What the scenes contain
# Colours, shapes, counts and relations are drawn uniformly, so there is no class
# imbalance to speak of; what varies is caption length across languages.

# %%
import json

scenes = pd.DataFrame(json.loads((root / "scenes.json").read_text())).T
scene_statistics(scenes)
plt.show()

# %%
caption_lengths({lang: feats.test.captions[lang] for lang in LANGUAGES})
plt.show()

# %%
record("crosslingual/01-data", {"n_train_images": len(feats.train.unique_images()),
                                "n_train_captions": len(feats.train), "n_test_images": len(feats.test),
                                "n_distinct_test_captions_en": len(set(feats.test.captions["en"]))},
       profile=profile, seed=seed, data=data_desc, device=str(dev))

# %% [markdown]
# In this run (profile and data printed at the top of the page): {glue:text}`n_train_images:.0f` training
# images with {glue:text}`n_train_captions:.0f` English captions, and {glue:text}`n_test_images:.0f`
# test images ({glue:text}`n_distinct_test_captions_en:.0f` distinct English captions).
