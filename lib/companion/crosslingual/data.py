"""Data: COCO 2014 captions and XTD10 in their real layouts, and a synthetic miniature of both.

Real layouts read here
----------------------
* COCO: ``annotations/captions_train2014.json`` (``images`` with ``id`` and
  ``file_name``; ``annotations`` with ``image_id`` and ``caption``) and the
  images under ``train2014/``. The XTD10 test images are COCO *train2014*
  images, so `load_coco_captions` takes the names to exclude.
* XTD10 (github.com/adobe-research/Cross-lingual-Test-Dataset-XTD10):
  ``test_image_names.txt`` line-aligned with ``test_1kcaptions_<lang>.txt`` for
  es, it, ko, pl, ru, tr, zh; de/en/fr under ``MIC/``; ja under ``STAIR/``.

Synthetic miniature
-------------------
`make_synthetic` renders scenes of coloured shapes (`grammar.Scene`) and
writes them in exactly that layout: COCO-style json with several English
captions per image for *all* images (test images included, as in COCO), and an
XTD10 folder for the test images with one caption per language.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from companion.crosslingual.grammar import (COLOURS, LANGUAGES, N_TEMPLATES, RELATIONS, SHAPES, Scene, caption,
                                            check_language)

XTD10_SUBFOLDER = {"de": "MIC", "en": "MIC", "fr": "MIC", "ja": "STAIR"}
COCO_ANNOTATIONS = Path("annotations") / "captions_train2014.json"
COCO_IMAGES = "train2014"
XTD10_FOLDER = "XTD10"

# Slightly off-pure RGB so that the ImageNet network sees ordinary colours; jittered per object.
_RGB = {"red": (200, 35, 35), "blue": (40, 70, 200), "green": (40, 160, 60), "yellow": (235, 205, 40)}


# ----------------------------------------------------------------------------- records
@dataclass
class CaptionSet:
    """Image–caption pairs: one row per caption.

    ``image_ids[i]`` identifies the image of ``captions[i]`` (several captions may
    share an image); ``file_names[i]`` is its file under ``image_dir``.
    """

    image_ids: list[int]
    file_names: list[str]
    captions: list[str]
    image_dir: Path | None = None

    def __len__(self) -> int:
        return len(self.captions)

    def unique_images(self) -> list[str]:
        """File names of the distinct images, in first-seen order."""
        return list(dict.fromkeys(self.file_names))


@dataclass
class XTD10:
    """The XTD10 test set: image names and, per language, line-aligned captions."""

    image_names: list[str]
    captions: dict[str, list[str]] = field(default_factory=dict)
    root: Path | None = None

    def __len__(self) -> int:
        return len(self.image_names)


# ----------------------------------------------------------------------------- loaders
def xtd10_caption_path(root: str | Path, lang: str) -> Path:
    """Where XTD10 keeps the captions of ``lang`` (``MIC/`` for de/en/fr, ``STAIR/`` for ja)."""
    check_language(lang)
    sub = XTD10_SUBFOLDER.get(lang)
    name = f"test_1kcaptions_{lang}.txt"
    return Path(root) / sub / name if sub else Path(root) / name


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():  # a trailing newline is not a caption
        lines.pop()
    return [line.strip() for line in lines]


def load_xtd10(root: str | Path, languages=LANGUAGES) -> XTD10:
    """Read XTD10 from its repository layout.

    Raises
    ------
    FileNotFoundError
        Missing folder, names file or caption file.
    ValueError
        Unknown language code, or a caption file whose length differs from
        ``test_image_names.txt`` (the files are aligned line by line).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"XTD10 folder {root} not found")
    languages = [check_language(lang) for lang in languages]
    names = _read_lines(root / "test_image_names.txt")
    if not names or any(not n for n in names):
        raise ValueError(f"{root / 'test_image_names.txt'}: empty file or blank lines")
    out = XTD10(image_names=names, root=root)
    for lang in languages:
        path = xtd10_caption_path(root, lang)
        lines = _read_lines(path)
        if len(lines) != len(names):
            raise ValueError(f"{path} has {len(lines)} captions but test_image_names.txt has {len(names)} "
                             "names; the files must be aligned line by line")
        out.captions[lang] = lines
    return out


def load_coco_captions(annotation_file: str | Path, image_dir: str | Path | None = None, *,
                       exclude: set[str] | list[str] | None = None, include: set[str] | list[str] | None = None,
                       check_images: bool = True) -> CaptionSet:
    """Read a COCO captions json into a `CaptionSet`.

    Parameters
    ----------
    annotation_file : path
        ``captions_train2014.json`` or the like.
    image_dir : path, optional
        Folder of the images (``train2014/``); with ``check_images`` every kept
        file must exist there.
    exclude : names, optional
        File names to drop (the XTD10 test images, which COCO lists in train2014).
    include : names, optional
        Keep only these file names (a split file such as Rajendran et al.'s).

    Raises
    ------
    FileNotFoundError
        Missing json, or images missing from ``image_dir`` (all of them counted).
    ValueError
        Malformed json, or an annotation pointing to an unknown image id.
    """
    annotation_file = Path(annotation_file)
    if not annotation_file.is_file():
        raise FileNotFoundError(f"COCO annotation file {annotation_file} not found")
    try:
        doc = json.loads(annotation_file.read_text(encoding="utf-8"))
        images = {int(im["id"]): im["file_name"] for im in doc["images"]}
        annotations = doc["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{annotation_file} is not a COCO captions file ({exc!r})") from exc
    exclude = set(exclude or ())
    include = set(include) if include is not None else None
    ids, files, caps = [], [], []
    for ann in sorted(annotations, key=lambda a: (int(a["image_id"]), int(a.get("id", 0)))):
        image_id = int(ann["image_id"])
        if image_id not in images:
            raise ValueError(f"{annotation_file}: annotation {ann.get('id')} points to unknown image id {image_id}")
        name = images[image_id]
        if name in exclude or (include is not None and name not in include):
            continue
        ids.append(image_id)
        files.append(name)
        caps.append(str(ann["caption"]).strip())
    out = CaptionSet(ids, files, caps, Path(image_dir) if image_dir is not None else None)
    if image_dir is not None and check_images:
        missing = [n for n in out.unique_images() if not (Path(image_dir) / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} of {len(out.unique_images())} images missing under "
                                    f"{image_dir}, e.g. {missing[:3]}")
    return out


def load_synthetic(root: str | Path, languages=LANGUAGES) -> tuple[CaptionSet, XTD10]:
    """Training captions (XTD10 test images excluded) and the XTD10 test set of a dataset folder."""
    root = Path(root)
    xtd = load_xtd10(root / XTD10_FOLDER, languages)
    train = load_coco_captions(root / COCO_ANNOTATIONS, root / COCO_IMAGES, exclude=set(xtd.image_names))
    check_images_exist(root / COCO_IMAGES, xtd.image_names, "XTD10 test images")
    return train, xtd


def check_images_exist(image_dir: str | Path, names: list[str], what: str = "images") -> None:
    """Raise FileNotFoundError naming the count and the first few of ``names`` missing under ``image_dir``."""
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise FileNotFoundError(f"image folder {image_dir} not found")
    missing = [n for n in names if not (image_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} of {len(names)} {what} not found under {image_dir}, "
                                f"e.g. {missing[:3]}")


def load_images(image_dir: str | Path, names: list[str], size: int) -> np.ndarray:
    """Images as float32 [N, size, size, 3] in [0, 1] (resized, RGB).

    Raises FileNotFoundError / ValueError naming every missing or unreadable file.
    """
    image_dir = Path(image_dir)
    out = np.empty((len(names), size, size, 3), dtype=np.float32)
    bad = []
    for i, name in enumerate(names):
        try:
            with Image.open(image_dir / name) as im:
                out[i] = np.asarray(im.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32) / 255
        except FileNotFoundError:
            bad.append(f"{name} (missing)")
        except OSError as exc:
            bad.append(f"{name} (unreadable: {exc})")
    if bad:
        raise FileNotFoundError(f"{len(bad)} of {len(names)} images could not be read under {image_dir}: {bad[:5]}")
    return out


# ----------------------------------------------------------------------------- synthetic scenes
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
                captions_per_image=captions_per_image, languages=list(languages), version=1)
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
    for pos, image_id in enumerate(image_ids.tolist()):
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
    xtd = root / XTD10_FOLDER
    for sub in set(XTD10_SUBFOLDER.values()):
        (xtd / sub).mkdir(parents=True, exist_ok=True)
    test = sorted(test_pos)
    names = [images[p]["file_name"] for p in test]
    (xtd / "test_image_names.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
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


def dataset_fingerprint(texts_or_names: list[str]) -> str:
    """A short sha1 of a list of strings (order matters), for cache keys."""
    h = hashlib.sha1()
    for t in texts_or_names:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- real photos
# One caption per photo, written for each XTD10 language.
PHOTO_CAPTIONS: dict[str, dict[str, str]] = {
    "chelsea": {
        "en": "A tabby cat looking up.",
        "de": "Eine getigerte Katze schaut nach oben.",
        "fr": "Un chat tigré qui regarde vers le haut.",
        "it": "Un gatto tigrato che guarda in alto.",
        "es": "Un gato atigrado que mira hacia arriba.",
        "ru": "Полосатая кошка смотрит вверх.",
        "ja": "上を見ているトラ猫。",
        "zh": "一只抬头看的虎斑猫。",
        "pl": "Pręgowany kot patrzy w górę.",
        "tr": "Yukarı bakan tekir bir kedi.",
        "ko": "위를 올려다보는 줄무늬 고양이.",
    },
    "coffee": {
        "en": "A cup of coffee on a saucer with a spoon.",
        "de": "Eine Tasse Kaffee auf einer Untertasse mit einem Löffel.",
        "fr": "Une tasse de café sur une soucoupe avec une cuillère.",
        "it": "Una tazza di caffè su un piattino con un cucchiaino.",
        "es": "Una taza de café sobre un platillo con una cuchara.",
        "ru": "Чашка кофе на блюдце с ложкой.",
        "ja": "スプーンを添えたソーサーの上のコーヒーカップ。",
        "zh": "放在碟子上的一杯咖啡，旁边有一把勺子。",
        "pl": "Filiżanka kawy na spodku z łyżeczką.",
        "tr": "Kaşıklı bir tabağın üzerinde bir fincan kahve.",
        "ko": "숟가락이 놓인 받침 접시 위의 커피 한 잔.",
    },
    "astronaut": {
        "en": "An astronaut in a white space suit in front of a flag.",
        "de": "Eine Astronautin im weißen Raumanzug vor einer Flagge.",
        "fr": "Une astronaute en combinaison spatiale blanche devant un drapeau.",
        "it": "Un'astronauta in tuta spaziale bianca davanti a una bandiera.",
        "es": "Una astronauta con traje espacial blanco delante de una bandera.",
        "ru": "Астронавт в белом скафандре на фоне флага.",
        "ja": "旗の前に立つ白い宇宙服の宇宙飛行士。",
        "zh": "一名身穿白色宇航服的宇航员站在旗帜前。",
        "pl": "Astronautka w białym skafandrze przed flagą.",
        "tr": "Bir bayrağın önünde beyaz uzay giysili bir astronot.",
        "ko": "깃발 앞에 서 있는 흰 우주복을 입은 우주비행사.",
    },
    "rocket": {
        "en": "A rocket on the launch pad.",
        "de": "Eine Rakete auf der Startrampe.",
        "fr": "Une fusée sur le pas de tir.",
        "it": "Un razzo sulla rampa di lancio.",
        "es": "Un cohete en la plataforma de lanzamiento.",
        "ru": "Ракета на стартовой площадке.",
        "ja": "発射台の上のロケット。",
        "zh": "发射台上的一枚火箭。",
        "pl": "Rakieta na stanowisku startowym.",
        "tr": "Fırlatma rampasında bir roket.",
        "ko": "발사대 위의 로켓.",
    },
    "china": {
        "en": "A Chinese temple with a red roof among trees.",
        "de": "Ein chinesischer Tempel mit rotem Dach zwischen Bäumen.",
        "fr": "Un temple chinois au toit rouge parmi les arbres.",
        "it": "Un tempio cinese con il tetto rosso tra gli alberi.",
        "es": "Un templo chino con el tejado rojo entre los árboles.",
        "ru": "Китайский храм с красной крышей среди деревьев.",
        "ja": "木々に囲まれた赤い屋根の中国の寺院。",
        "zh": "树木之间一座红色屋顶的中国寺庙。",
        "pl": "Chińska świątynia z czerwonym dachem wśród drzew.",
        "tr": "Ağaçların arasında kırmızı çatılı bir Çin tapınağı.",
        "ko": "나무들 사이에 있는 빨간 지붕의 중국 사원.",
    },
    "flower": {
        "en": "A yellow flower with a bee.",
        "de": "Eine gelbe Blume mit einer Biene.",
        "fr": "Une fleur jaune avec une abeille.",
        "it": "Un fiore giallo con un'ape.",
        "es": "Una flor amarilla con una abeja.",
        "ru": "Жёлтый цветок с пчелой.",
        "ja": "ハチがとまっている黄色い花。",
        "zh": "一朵有蜜蜂的黄色花。",
        "pl": "Żółty kwiat z pszczołą.",
        "tr": "Üzerinde arı olan sarı bir çiçek.",
        "ko": "벌이 앉아 있는 노란 꽃.",
    },
    "grace_hopper": {
        "en": "A portrait of a woman in a navy uniform.",
        "de": "Ein Porträt einer Frau in Marineuniform.",
        "fr": "Le portrait d'une femme en uniforme de la marine.",
        "it": "Il ritratto di una donna in uniforme della marina.",
        "es": "El retrato de una mujer con uniforme de la marina.",
        "ru": "Портрет женщины в военно-морской форме.",
        "ja": "海軍の制服を着た女性の肖像。",
        "zh": "一位身穿海军制服的女性的肖像。",
        "pl": "Portret kobiety w mundurze marynarki wojennej.",
        "tr": "Deniz kuvvetleri üniforması giymiş bir kadının portresi.",
        "ko": "해군 제복을 입은 여성의 초상.",
    },
    "horse": {
        "en": "The black silhouette of a horse.",
        "de": "Die schwarze Silhouette eines Pferdes.",
        "fr": "La silhouette noire d'un cheval.",
        "it": "La sagoma nera di un cavallo.",
        "es": "La silueta negra de un caballo.",
        "ru": "Чёрный силуэт лошади.",
        "ja": "馬の黒いシルエット。",
        "zh": "一匹马的黑色剪影。",
        "pl": "Czarna sylwetka konia.",
        "tr": "Bir atın siyah silueti.",
        "ko": "말의 검은 실루엣.",
    },
}


def load_photos(size: int = 224) -> tuple[list[str], np.ndarray]:
    """The bundled real photos of `PHOTO_CAPTIONS` as float32 [N, size, size, 3] in [0, 1]."""
    import matplotlib.cbook
    import skimage.data
    from sklearn.datasets import load_sample_image

    names, out = [], []
    for name in PHOTO_CAPTIONS:
        if name in ("china", "flower"):
            arr = load_sample_image(f"{name}.jpg")
        elif name == "grace_hopper":
            with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
                arr = np.asarray(Image.open(f).convert("RGB"))
        else:
            arr = getattr(skimage.data, name)()
        arr = np.asarray(arr)
        if arr.dtype == bool:  # skimage's horse is a binary silhouette
            arr = arr.astype(np.uint8) * 255
        im = Image.fromarray(arr).convert("RGB").resize((size, size), Image.BILINEAR)
        names.append(name)
        out.append(np.asarray(im, dtype=np.float32) / 255)
    return names, np.stack(out)


# ----------------------------------------------------------------------------- Multi30K (Table 3)
# github.com/multi30k/dataset: data/task1/raw/<split>.<lang>[.gz] line-aligned with
# data/task1/image_splits/<split>.txt (Flickr30k image names); 29000 / 1014 / 1000 images.
MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}
MULTI30K_LANGUAGES = ("en", "de", "fr")
MULTI30K_IMAGES = "flickr30k-images"


def _multi30k_file(root: Path, split: str, lang: str) -> Path:
    raw = root / "data" / "task1" / "raw"
    plain = raw / f"{MULTI30K_SPLITS[split]}.{lang}"
    gz = plain.with_name(plain.name + ".gz")
    return gz if gz.is_file() and not plain.is_file() else plain


def load_multi30k(root: str | Path, split: str = "test", languages=MULTI30K_LANGUAGES,
                  image_dir: str | Path | None = None) -> XTD10:
    """Read one Multi30K task-1 split (image names + one caption per language, line-aligned).

    Parameters
    ----------
    root : path
        The Multi30K repository (holding ``data/task1``); raw files may be gzipped.
    split : {"train", "val", "test"}
        ``test`` is ``test_2016_flickr``, the split of the paper's Table 3.
    image_dir : path, optional
        Flickr30k images folder; every listed image must exist there.

    Returns an `XTD10` record (same shape: names and per-language captions).

    Raises
    ------
    FileNotFoundError
        Missing folder, split file or caption file; images missing under ``image_dir``.
    ValueError
        Unknown split or language, or a caption file whose length differs from the split file.
    """
    import gzip

    root = Path(root)
    if split not in MULTI30K_SPLITS:
        raise ValueError(f"unknown Multi30K split {split!r}; use one of {', '.join(MULTI30K_SPLITS)}")
    bad = [lang for lang in languages if lang not in MULTI30K_LANGUAGES]
    if bad:
        raise ValueError(f"unknown language code {bad[0]!r} for Multi30K; its languages here are "
                         f"{', '.join(MULTI30K_LANGUAGES)}")
    if not (root / "data" / "task1").is_dir():
        raise FileNotFoundError(f"Multi30K folder {root / 'data' / 'task1'} not found")
    names = _read_lines(root / "data" / "task1" / "image_splits" / f"{MULTI30K_SPLITS[split]}.txt")
    out = XTD10(image_names=names, root=root)
    for lang in languages:
        path = _multi30k_file(root, split, lang)
        if path.suffix == ".gz":
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found")
            lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
            while lines and not lines[-1].strip():
                lines.pop()
            lines = [line.strip() for line in lines]
        else:
            lines = _read_lines(path)
        if len(lines) != len(names):
            raise ValueError(f"{path} has {len(lines)} captions but {MULTI30K_SPLITS[split]}.txt has "
                             f"{len(names)} image names; the files must be aligned line by line")
        out.captions[lang] = lines
    if image_dir is not None:
        check_images_exist(image_dir, names, f"Multi30K {split} images")
    return out


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
