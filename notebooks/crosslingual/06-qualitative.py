# %% [markdown]
# # 6. Qualitative figures (the paper's Figures 2–4, redrawn from our runs)

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
from companion.book.paths import cache_dir
from companion.core import select_device
from companion.crosslingual.features import chapter_features
from companion.crosslingual.grammar import LANGUAGES

dev = select_device(device)
feats = chapter_features(profile, n_train=n_train, n_test=n_test, seed=seed, image_size=image_size,
                         captions_per_image=captions_per_image, encoders=encoders)
root, encoders_run, data_desc = feats.root, feats.encoders, feats.description

# %%
from companion.crosslingual.data import PHOTO_CAPTIONS, load_images, load_photos
from companion.crosslingual.evaluate import caption_match_rank1, image_clusters, rank1
from companion.crosslingual.figures import image_strip, rank1_grid, tsne_captions_over_images, tsne_languages
from companion.crosslingual.features import embed_photo_captions
from companion.crosslingual.models import map_texts
from companion.crosslingual.train import TrainConfig, train_or_load

enc = encoders_run[0]
cfg = TrainConfig(encoder=enc, loss="m3l", epochs=epochs, batch_size=batch_size, lr=lr, beta1=beta1, seed=seed)
model, _, _ = train_or_load(cfg, feats, cache_dir("crosslingual-checkpoints"), device=device, progress=False)

# %% [markdown]
# ## Figure 2: the rank-1 image for one caption in every language
# For the first test scenes, the query's own image, then the image ranked first for its
# caption in each language (mUSE + M3L). A green border marks the caption's own image, red
# any other; in the smoke profile the model barely trained, so expect mostly red.

# %%
n_show = 3
images = load_images(root / "train2014", feats.test.image_names, image_size)
top1 = rank1(model, {lang: feats.test_text[enc][lang] for lang in LANGUAGES}, feats.test_image,
             rows=list(range(n_show)))
rank1_grid(images[:n_show], top1, images)
plt.show()
for row in range(n_show):
    print(row, feats.test.captions["en"][row], "|", feats.test.captions["it"][row])

# %% [markdown]
# ## Figure 3: Italian captions mapped into the image space
# t-SNE of the mapped Italian captions (o) with the image features (x). As in the paper,
# the colours are clusters of the image features (k-means on the CNN features, not the
# scene labels), so a caption that lands near its image shares its colour.

# %%
clusters = image_clusters(feats.test_image, k=6, seed=seed)
tsne_captions_over_images(map_texts(model, feats.test_text[enc]["it"]), feats.test_image,
                          [f"cluster {c}" for c in clusters], language="Italian", seed=seed)
plt.show()

# %% [markdown]
# ## Figure 4: non-English (x) over English (o) sentence embeddings, per encoder
# The raw sentence embeddings, before any training: the tighter the grey crosses sit around
# the blue circles, the better the encoder aligns the other languages with English, and the
# closer their zero-shot recall can come to English (the paper's argument for mUSE over LASER).

# %%
tsne_languages({e: {lang: feats.test_text[e][lang] for lang in LANGUAGES} for e in encoders_run}, seed=seed)
plt.show()

# %% [markdown]
# ## Real photos: Figure 2 with captions from the eleven languages
# Eight bundled photos (scikit-image, scikit-learn, matplotlib), one caption each in
# eleven languages. Our MLP was trained on shape scenes, so retrieving these photos with
# it would be out of domain; instead each caption retrieves the photo whose **English**
# caption is nearest to it in the encoder's space (cosine). The grid shows the rank-1
# photo per language with mUSE; the table gives the share of captions matched to the
# right photo, per encoder and language.

# %%
photo_names, photos = load_photos(96)
image_strip(photos, [PHOTO_CAPTIONS[p]["en"] for p in photo_names], fontsize=6)
plt.show()
photo_top1 = {e: caption_match_rank1(embed_photo_captions(e, photo_names,
                                                          cache_dir=cache_dir("crosslingual-embeddings")))
              for e in encoders_run}
rank1_grid(photos, photo_top1[enc], photos)
plt.show()
photo_acc = pd.DataFrame({e: {lang: float(np.mean(top == np.arange(len(photo_names))))
                              for lang, top in by_lang.items() if lang != "en"}
                          for e, by_lang in photo_top1.items()}).T
photo_acc

# %%
metrics = {f"photo_caption_match_{e}": photo_acc.loc[e].mean() for e in encoders_run}
record("crosslingual/06-qualitative", metrics, profile=profile, seed=seed,
       data=data_desc + "; 8 bundled photos with 11-language captions", device=str(dev))
