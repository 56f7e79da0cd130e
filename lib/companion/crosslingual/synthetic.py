"""A synthetic miniature of COCO + XTD10 and of Multi30K, written in the real layouts.

`make_synthetic` renders scenes of coloured shapes (`grammar.Scene`) and
writes them as the real files are laid out: a COCO-style captions json with
several English captions per image for *all* images (test images included, as
in COCO), and an XTD10 repository (``XTD10/``, ``MIC/``, ``STAIR/`` with the
Japanese file named ``_jp``, as published) for the test images, with one caption
per language; `load_synthetic` reads it back through the real loaders.
`make_synthetic_multi30k` writes Multi30K's task-1 layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from companion.core.progress import progress
from companion.crosslingual.data import (COCO_ANNOTATIONS, COCO_IMAGES, MULTI30K_IMAGES, MULTI30K_LANGUAGES,
                                         MULTI30K_SPLITS, XTD10_LAYOUT, XTD10_NAMES, CaptionSet, XTD10,
                                         check_images_exist, load_coco_captions, load_xtd10, xtd10_caption_path)
from companion.crosslingual.grammar import (COLOURS, LANGUAGES, N_TEMPLATES, RELATIONS, SHAPES, Scene, caption,
                                            check_language)

# The XTD10 repository's folder inside a synthetic dataset (its name on GitHub).
XTD10_REPO = "Cross-lingual-Test-Dataset-XTD10"

# Slightly off-pure RGB so that the ImageNet network sees ordinary colours; jittered per object.
_RGB = {"red": (200, 35, 35), "blue": (40, 70, 200), "green": (40, 160, 60), "yellow": (235, 205, 40)}


def load_synthetic(root: str | Path, languages=LANGUAGES) -> tuple[CaptionSet, XTD10]:
    """Training captions (XTD10 test images excluded) and the XTD10 test set of a dataset folder."""
    root = Path(root)
    xtd = load_xtd10(root / XTD10_REPO, languages)
    train = load_coco_captions(root / COCO_ANNOTATIONS, root / COCO_IMAGES, exclude=set(xtd.image_names))
    check_images_exist(root / COCO_IMAGES, xtd.image_names, "XTD10 test images")
    return train, xtd


def random_scene(rng: np.random.Generator) -> Scene:
    """A scene drawn uniformly from the grammar (group and reference differ)."""
    while True:
        colour, ref_colour = rng.choice(COLOURS, 2)
        shape, ref_shape = rng.choice(SHAPES, 2)
        if (colour, shape) != (ref_colour, ref_shape):
            return Scene(int(rng.integers(1, 4)), str(colour), str(shape), str(rng.choice(RELATIONS)),
                         str(ref_colour), str(ref_shape))


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, rgb, angle: float):
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rgb)
    elif shape == "square":
        h = r * 0.9
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=rgb)
    else:
        pts = [(cx + r * np.cos(angle + k * 2 * np.pi / 3), cy + r * np.sin(angle + k * 2 * np.pi / 3))
               for k in range(3)]
        draw.polygon(pts, fill=rgb)


def render_scene(scene: Scene, size: int, rng: np.random.Generator) -> Image.Image:
    """Draw ``scene`` on a ``size``×``size`` canvas with random placement, sizes, tints and noise.

    The reference object lies in one half of the canvas and the group in the
    other half, so the spatial relation in every caption is true.
    """
    bg = tuple(int(v) for v in rng.integers(200, 250, 3))
    im = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(im)
    half = size / 2

    def jitter(colour):
        return tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in _RGB[colour])

    # regions (x0, y0, x1, y1) for the group and the reference
    full = (0.0, 0.0, float(size), float(size))
    left, right = (0.0, 0.0, half, float(size)), (half, 0.0, float(size), float(size))
    top, bottom = (0.0, 0.0, float(size), half), (0.0, half, float(size), float(size))
    group_region, ref_region = {"left": (left, right), "right": (right, left), "above": (top, bottom),
                                "below": (bottom, top)}.get(scene.relation, (full, full))
    placed: list[tuple[float, float, float]] = []

    def place(region, shape, colour, r):
        x0, y0, x1, y1 = region
        for _ in range(200):
            cx, cy = rng.uniform(x0 + r + 1, x1 - r - 1), rng.uniform(y0 + r + 1, y1 - r - 1)
            if all((cx - px) ** 2 + (cy - py) ** 2 > (r + pr + 2) ** 2 for px, py, pr in placed):
                break
        placed.append((cx, cy, r))
        _draw_shape(draw, shape, cx, cy, r, jitter(colour), rng.uniform(0, 2 * np.pi))

    place(ref_region, scene.ref_shape, scene.ref_colour, size * rng.uniform(0.12, 0.18))
    for _ in range(scene.count):
        place(group_region, scene.shape, scene.colour, size * rng.uniform(0.08, 0.12))
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def coco_file_name(image_id: int) -> str:
    return f"COCO_train2014_{image_id:012d}.jpg"


def make_synthetic(root: str | Path, n_train: int, n_test: int, *, seed: int = 0, image_size: int = 128,
                   captions_per_image: int = 3, languages=LANGUAGES) -> Path:
    """Write a synthetic COCO + XTD10 miniature under ``root`` (skipped if already complete).

    Every image gets ``captions_per_image`` English captions in the COCO json
    (different paraphrase templates). The first ``n_test`` images (ids shuffled
    among the train ids) form the XTD10 test set: per language one caption,
    with the template drawn at random per image and language, so a test caption
    is rarely a literal translation of the English one. The XTD10 English
    caption is the longest COCO caption of the image, as in the paper.

    Returns the ``root`` path.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be positive, got {n_train}, {n_test}")
    if not 1 <= captions_per_image <= N_TEMPLATES:
        raise ValueError(f"captions_per_image must be 1..{N_TEMPLATES}, got {captions_per_image}")
    languages = [check_language(lang) for lang in languages]
    if "en" not in languages:
        languages = ["en", *languages]
    root = Path(root)
    done = root / ".complete.json"
    spec = dict(n_train=n_train, n_test=n_test, seed=seed, image_size=image_size,
                captions_per_image=captions_per_image, languages=list(languages), version=2)
    if done.is_file() and json.loads(done.read_text()) == spec:
        return root
    rng = np.random.default_rng(seed)
    (root / COCO_IMAGES).mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    n = n_train + n_test
    # COCO-like sparse ids; the test images are interleaved with the training ones.
    image_ids = np.sort(rng.choice(np.arange(9, 600_000), n, replace=False))
    test_pos = set(rng.choice(n, n_test, replace=False).tolist())
    images, annotations, scenes = [], [], []
    ann_id = 1
    for pos, image_id in enumerate(progress(image_ids.tolist(), "synthetic scenes")):
        scene = random_scene(rng)
        scenes.append(scene)
        name = coco_file_name(image_id)
        render_scene(scene, image_size, rng).save(root / COCO_IMAGES / name, quality=95)
        images.append({"id": image_id, "file_name": name, "width": image_size, "height": image_size})
        for t in rng.permutation(N_TEMPLATES)[:captions_per_image].tolist():
            annotations.append({"id": ann_id, "image_id": image_id, "caption": caption(scene, "en", t)})
            ann_id += 1
    (root / COCO_ANNOTATIONS).write_text(json.dumps({"images": images, "annotations": annotations},
                                                    ensure_ascii=False))
    xtd = root / XTD10_REPO
    for sub, _ in XTD10_LAYOUT.values():
        (xtd / sub).mkdir(parents=True, exist_ok=True)
    test = sorted(test_pos)
    names = [images[p]["file_name"] for p in test]
    (xtd / XTD10_NAMES).write_text("\n".join(names) + "\n", encoding="utf-8")
    by_image: dict[int, list[str]] = {}
    for a in annotations:
        by_image.setdefault(a["image_id"], []).append(a["caption"])
    for lang in languages:
        if lang == "en":
            lines = [max(by_image[images[p]["id"]], key=len) for p in test]
        else:
            lines = [caption(scenes[p], lang, int(rng.integers(N_TEMPLATES))) for p in test]
        xtd10_caption_path(xtd, lang).write_text("\n".join(lines) + "\n", encoding="utf-8")
    # the scene of every image, for figures and tests (not part of the real formats)
    (root / "scenes.json").write_text(json.dumps({images[p]["file_name"]: scenes[p].__dict__ for p in range(n)}))
    done.write_text(json.dumps(spec))
    return root




def make_synthetic_multi30k(root: str | Path, n_train: int, n_test: int, *, seed: int = 0, image_size: int = 128,
                            n_val: int | None = None) -> Path:
    """Write a synthetic Multi30K miniature (task-1 layout, en/de/fr) under ``root`` (skipped if complete).

    Every image gets one caption per language, each with its own randomly
    drawn paraphrase template, as Multi30K's independent descriptions would
    differ; the scenes are drawn independently of the COCO miniature's.
    Returns ``root``.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be positive, got {n_train}, {n_test}")
    n_val = n_test if n_val is None else n_val
    root = Path(root)
    done = root / ".complete.json"
    spec = dict(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed, image_size=image_size, version=1)
    if done.is_file() and json.loads(done.read_text()) == spec:
        return root
    rng = np.random.default_rng(seed + 30_000)  # a stream of its own: not the COCO miniature's scenes
    images, raw, splits = root / MULTI30K_IMAGES, root / "data" / "task1" / "raw", root / "data" / "task1" / "image_splits"
    for folder in (images, raw, splits):
        folder.mkdir(parents=True, exist_ok=True)
    n = n_train + n_val + n_test
    ids = rng.choice(np.arange(1_000_000, 9_999_999), n, replace=False)
    scenes = {}
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n)}
    for split, (a, b) in bounds.items():
        names, caps = [], {lang: [] for lang in MULTI30K_LANGUAGES}
        for image_id in ids[a:b].tolist():
            scene = random_scene(rng)
            name = f"{image_id}.jpg"
            render_scene(scene, image_size, rng).save(images / name, quality=95)
            names.append(name)
            scenes[name] = scene.__dict__
            for lang in MULTI30K_LANGUAGES:
                caps[lang].append(caption(scene, lang, int(rng.integers(N_TEMPLATES))))
        (splits / f"{MULTI30K_SPLITS[split]}.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
        for lang in MULTI30K_LANGUAGES:
            (raw / f"{MULTI30K_SPLITS[split]}.{lang}").write_text("\n".join(caps[lang]) + "\n", encoding="utf-8")
    (root / "scenes.json").write_text(json.dumps(scenes))
    done.write_text(json.dumps(spec))
    return root


def oracle_recall_at_k(scenes: dict[str, dict], names: list[str], k: int = 10) -> float:
    """Recall@k of a perfect reader of the captions: one that knows each test image's scene.

    A caption determines its scene (count, colour, shape, relation, reference), so
    such a reader ranks first every test image with that scene; when more than
    ``k`` test images share it, ties count against it, as in
    `companion.metrics.retrieval.recall_at_k`. ``scenes`` maps file names to
    `Scene` fields (the generator's ``scenes.json``), ``names`` are the test images.
    """
    missing = [n for n in names if n not in scenes]
    if missing:
        raise KeyError(f"{len(missing)} test images without a scene, e.g. {missing[:3]}")
    keys = [tuple(sorted(scenes[n].items())) for n in names]
    counts: dict[tuple, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return float(np.mean([counts[key] <= k for key in keys]))
