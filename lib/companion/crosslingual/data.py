"""Data: COCO captions, XTD10 and Multi30K in their published layouts (the synthetic miniature is in `synthetic`).

Real layouts read here
----------------------
* COCO: ``annotations/captions_train2014.json`` (``images`` with ``id`` and
  ``file_name``; ``annotations`` with ``image_id`` and ``caption``) and the
  images under ``train2014/``. The XTD10 test images are COCO *train2014*
  images, so `load_coco_captions` takes the names to exclude and matches them by
  COCO image id (2014 names ``COCO_train2014_000000xxxxxx.jpg`` and 2017 names
  ``000000xxxxxx.jpg`` alike).
* XTD10 (github.com/adobe-research/Cross-lingual-Test-Dataset-XTD10), read from
  the repository root: ``XTD10/test_image_names.txt`` line-aligned with
  ``XTD10/test_1kcaptions_<lang>.txt`` for en, es, it, ko, pl, ru, tr, zh;
  ``MIC/`` (de, fr) and ``STAIR/`` (Japanese, file suffix ``_jp``) beside
  ``XTD10/``. Files are utf-8 (a byte-order mark is accepted), with LF or CRLF
  line ends. A copy ships in ``data/real/xtd10`` (`REAL_XTD10`).
* Multi30K task 1 (github.com/multi30k/dataset): ``data/task1/raw/<split>.<lang>[.gz]``
  line-aligned with ``data/task1/image_splits/<split>.txt``. The 2016 test
  split's text ships in ``data/real/multi30k`` (`REAL_MULTI30K`).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from companion.core.photos import bundled_photo
from companion.crosslingual.grammar import LANGUAGES, check_language

# XTD10 repository layout: language -> (folder under the repository root, code in the file name)
XTD10_LAYOUT = {**{lang: ("XTD10", lang) for lang in ("en", "es", "it", "ko", "pl", "ru", "tr", "zh")},
                "de": ("MIC", "de"), "fr": ("MIC", "fr"), "ja": ("STAIR", "jp")}
XTD10_NAMES = Path("XTD10") / "test_image_names.txt"
COCO_ANNOTATIONS = Path("annotations") / "captions_train2014.json"
COCO_IMAGES = "train2014"

_REPO = Path(__file__).resolve().parents[3]
REAL_XTD10 = _REPO / "data" / "real" / "xtd10"
REAL_MULTI30K = _REPO / "data" / "real" / "multi30k"


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
    n_excluded: int = 0  # images dropped by `load_coco_captions(exclude=...)`

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
    """Where the XTD10 repository at ``root`` keeps the captions of ``lang``.

    ``XTD10/`` for en es it ko pl ru tr zh, ``MIC/`` for de and fr, ``STAIR/``
    for Japanese, whose file is ``test_1kcaptions_jp.txt``.
    """
    folder, code = XTD10_LAYOUT[check_language(lang)]
    return Path(root) / folder / f"test_1kcaptions_{code}.txt"


def read_text_lines(path: str | Path) -> list[str]:
    """Lines of a utf-8 text file (byte-order mark dropped, LF or CRLF, stripped; trailing blank lines dropped).

    Raises FileNotFoundError naming ``path`` if it is missing, ValueError if it is not utf-8.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not utf-8 text ({exc})") from exc
    lines = text.splitlines()
    while lines and not lines[-1].strip():  # a trailing newline is not a caption
        lines.pop()
    return [line.strip() for line in lines]


_read_lines = read_text_lines


def _check_no_blank(path: Path, lines: list[str], what: str) -> None:
    blank = [i + 1 for i, line in enumerate(lines) if not line]
    if not lines:
        raise ValueError(f"{path} is empty")
    if blank:
        raise ValueError(f"{path}: {len(blank)} blank {what} (lines {blank[:5]})")


def load_xtd10(root: str | Path, languages=LANGUAGES) -> XTD10:
    """Read XTD10 from its repository root (the folder holding ``XTD10/``, ``MIC/`` and ``STAIR/``).

    Raises
    ------
    FileNotFoundError
        Missing folder, names file or caption file (the message names it; a
        path to the inner ``XTD10/`` folder is answered with where the root is).
    ValueError
        Unknown language code; a file that is not utf-8; an empty file, blank
        lines or duplicate image names; a caption file whose length differs
        from ``test_image_names.txt`` (the files are aligned line by line).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"XTD10 folder {root} not found")
    languages = [check_language(lang) for lang in languages]
    names_path = root / XTD10_NAMES
    if not names_path.is_file() and (root / XTD10_NAMES.name).is_file():
        raise FileNotFoundError(f"{names_path} not found: {root} looks like the inner XTD10/ folder; pass the "
                                f"repository root {root.parent}, which holds XTD10/, MIC/ and STAIR/")
    names = read_text_lines(names_path)
    _check_no_blank(names_path, names, "image names")
    dup = len(names) - len(set(names))
    if dup:
        first = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"{names_path}: {dup} duplicate image names, e.g. {first}")
    out = XTD10(image_names=names, root=root)
    for lang in languages:
        path = xtd10_caption_path(root, lang)
        lines = read_text_lines(path)
        if len(lines) != len(names):
            raise ValueError(f"{path} has {len(lines)} captions but {names_path.name} has {len(names)} "
                             "names; the files must be aligned line by line")
        _check_no_blank(path, lines, "captions")
        out.captions[lang] = lines
    return out


_COCO_ID = re.compile(r"(?:^|_)(\d+)\.(?:jpg|jpeg|png)$", re.IGNORECASE)


def coco_image_id(name: str) -> int:
    """COCO image id of a file name: ``COCO_train2014_000000061844.jpg`` and ``000000061844.jpg`` -> 61844.

    Raises ValueError for a name that carries no id.
    """
    m = _COCO_ID.search(Path(str(name)).name)
    if not m:
        raise ValueError(f"{name!r} is not a COCO image file name (COCO_<split>2014_<id>.jpg or <id>.jpg)")
    return int(m.group(1))


def load_coco_captions(annotation_file: str | Path, image_dir: str | Path | None = None, *,
                       exclude: set[str] | list[str] | None = None, include: set[str] | list[str] | None = None,
                       check_images: bool = True) -> CaptionSet:
    """Read a COCO captions json into a `CaptionSet`.

    Parameters
    ----------
    annotation_file : path
        ``captions_train2014.json``, ``captions_train2017.json`` or the like.
    image_dir : path, optional
        Folder of the images (``train2014/``); with ``check_images`` every kept
        file must exist there.
    exclude : names, optional
        Images to drop (the XTD10 test images, which COCO lists in train2014),
        matched by COCO image id, so 2014-style names exclude 2017-named files
        too. Names whose id is not in the json are counted in a warning.
    include : names, optional
        Keep only these images (a split file such as Rajendran et al.'s), matched by id likewise.

    Raises
    ------
    FileNotFoundError
        Missing json, or images missing from ``image_dir`` (all of them counted).
    ValueError
        Malformed json, duplicate image ids, an annotation pointing to an
        unknown image id, or an ``exclude``/``include`` name without a COCO id.
    """
    annotation_file = Path(annotation_file)
    if not annotation_file.is_file():
        raise FileNotFoundError(f"COCO annotation file {annotation_file} not found")
    try:
        doc = json.loads(annotation_file.read_text(encoding="utf-8-sig"))
        pairs = [(int(im["id"]), str(im["file_name"])) for im in doc["images"]]
        annotations = doc["annotations"]
        annotations = sorted(annotations, key=lambda a: (int(a["image_id"]), int(a.get("id", 0))))
        for ann in annotations:
            str(ann["caption"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{annotation_file} is not a COCO captions file ({exc!r})") from exc
    images = dict(pairs)
    if len(images) != len(pairs):
        dup = len(pairs) - len(images)
        raise ValueError(f"{annotation_file}: {dup} duplicate image ids in 'images'")

    exclude_ids = {coco_image_id(n) for n in exclude or ()}
    include_ids = {coco_image_id(n) for n in include} if include is not None else None
    not_found = exclude_ids - set(images)
    if not_found:
        warnings.warn(f"{len(not_found)} of {len(exclude_ids)} images to exclude are not in {annotation_file} "
                      f"(COCO ids, e.g. {sorted(not_found)[:3]}); nothing to drop for them", stacklevel=2)
    ids, files, caps = [], [], []
    for ann in annotations:
        image_id = int(ann["image_id"])
        if image_id not in images:
            raise ValueError(f"{annotation_file}: annotation {ann.get('id')} points to unknown image id {image_id}")
        if image_id in exclude_ids or (include_ids is not None and image_id not in include_ids):
            continue
        ids.append(image_id)
        files.append(images[image_id])
        caps.append(str(ann["caption"]).strip())
    out = CaptionSet(ids, files, caps, Path(image_dir) if image_dir is not None else None)
    out.n_excluded = len(exclude_ids & set(images))
    if image_dir is not None and check_images:
        missing = [n for n in out.unique_images() if not (Path(image_dir) / n).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} of {len(out.unique_images())} images missing under "
                                    f"{image_dir}, e.g. {missing[:3]}")
    return out


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
    names, out = [], []
    for name in PHOTO_CAPTIONS:
        arr = bundled_photo(name)
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
