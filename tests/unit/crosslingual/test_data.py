import json

import numpy as np
import pytest

from companion.crosslingual import data, synthetic as syn
from companion.crosslingual.grammar import LANGUAGES, Scene, caption


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    syn.make_synthetic(root, n_train=12, n_test=6, seed=3, image_size=32, captions_per_image=2)
    return root


def test_round_trip_real_layouts(synthetic):
    xtd = synthetic / syn.XTD10_REPO
    # the published XTD10 layout: names and en/es/.../zh in XTD10/, de/fr in MIC/, Japanese as _jp in STAIR/
    assert (xtd / "XTD10" / "test_image_names.txt").is_file()
    assert (xtd / "XTD10" / "test_1kcaptions_en.txt").is_file()
    assert (xtd / "MIC" / "test_1kcaptions_de.txt").is_file()
    assert (xtd / "STAIR" / "test_1kcaptions_jp.txt").is_file()
    assert (xtd / "XTD10" / "test_1kcaptions_ko.txt").is_file()
    assert sorted(p.name for p in xtd.iterdir()) == ["MIC", "STAIR", "XTD10"]
    train, test = syn.load_synthetic(synthetic)
    assert len(test) == 6 and set(test.captions) == set(LANGUAGES)
    assert all(len(v) == 6 for v in test.captions.values())
    assert len(train) == 12 * 2 and len(train.unique_images()) == 12
    scenes = json.loads((synthetic / "scenes.json").read_text())
    for i, name in enumerate(test.image_names):
        scene = Scene(**scenes[name])
        assert test.captions["de"][i] in [caption(scene, "de", t) for t in range(3)]
    # the XTD10 English caption is the longest COCO caption of that image
    doc = json.loads((synthetic / data.COCO_ANNOTATIONS).read_text())
    id_of = {im["file_name"]: im["id"] for im in doc["images"]}
    caps = [a["caption"] for a in doc["annotations"] if a["image_id"] == id_of[test.image_names[0]]]
    assert test.captions["en"][0] == max(caps, key=len)


def test_test_images_are_excluded_from_training(synthetic):
    train, test = syn.load_synthetic(synthetic)
    assert not set(train.file_names) & set(test.image_names)
    everything = data.load_coco_captions(synthetic / data.COCO_ANNOTATIONS, synthetic / data.COCO_IMAGES)
    # COCO lists the test images in train2014 too: without exclusion they would leak
    assert set(test.image_names) <= set(everything.file_names)


def test_generator_is_deterministic(tmp_path):
    a = syn.make_synthetic(tmp_path / "a", 4, 3, seed=1, image_size=24)
    b = syn.make_synthetic(tmp_path / "b", 4, 3, seed=1, image_size=24)
    for rel in ["annotations/captions_train2014.json", f"{syn.XTD10_REPO}/XTD10/test_1kcaptions_tr.txt"]:
        assert (a / rel).read_text() == (b / rel).read_text()
    name = (a / syn.XTD10_REPO / data.XTD10_NAMES).read_text().split()[0]
    assert (a / "train2014" / name).read_bytes() == (b / "train2014" / name).read_bytes()


def test_unknown_language_is_rejected(synthetic):
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        data.load_xtd10(synthetic / syn.XTD10_REPO, ["en", "xx"])
    with pytest.raises(ValueError, match="unknown language"):
        caption(Scene(1, "red", "circle", "left", "blue", "square"), "pt")


def test_caption_files_of_different_length(tmp_path, synthetic):
    import shutil
    root = tmp_path / "xtd"
    shutil.copytree(synthetic / syn.XTD10_REPO, root)
    path = root / "XTD10" / "test_1kcaptions_pl.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="test_1kcaptions_pl.txt has 5 captions .* 6"):
        data.load_xtd10(root)
    with pytest.raises(FileNotFoundError):
        data.load_xtd10(tmp_path / "nowhere")


def test_missing_image_is_reported(tmp_path, synthetic):
    import shutil
    root = tmp_path / "coco"
    shutil.copytree(synthetic, root)
    victim = sorted((root / "train2014").iterdir())[0]
    victim.unlink()
    with pytest.raises(FileNotFoundError, match="1 of .* images missing"):
        data.load_coco_captions(root / data.COCO_ANNOTATIONS, root / "train2014")
    with pytest.raises(FileNotFoundError, match=victim.name):
        data.load_images(root / "train2014", [victim.name], 16)


def test_malformed_coco_json(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                               "annotations": [{"id": 1, "image_id": 2, "caption": "x"}]}))
    with pytest.raises(ValueError, match="unknown image id 2"):
        data.load_coco_captions(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a COCO captions file"):
        data.load_coco_captions(bad)


def test_rendered_scene_puts_group_on_the_captioned_side():
    rng = np.random.default_rng(0)
    scene = Scene(2, "red", "circle", "left", "blue", "square")
    im = np.asarray(syn.render_scene(scene, 64, rng)).astype(int)
    red = (im[..., 0] > 150) & (im[..., 1] < 100) & (im[..., 2] < 100)
    blue = (im[..., 2] > 130) & (im[..., 0] < 110)
    assert red.any() and blue.any()
    assert np.nonzero(red)[1].max() < np.nonzero(blue)[1].min() + 1


def test_grammar_agreement_examples():
    s = Scene(3, "green", "square", "below", "yellow", "triangle")
    assert caption(s, "fr", 1) == "Il y a trois carrés verts en dessous d'un triangle jaune."
    assert caption(s, "ru", 0) == "Три зелёных квадрата под жёлтым треугольником."
    assert caption(s, "tr", 0) == "Sarı bir üçgenin altında üç yeşil kare var."
    with pytest.raises(ValueError, match="differ"):
        Scene(1, "red", "circle", "left", "red", "circle")


def test_xtd10_image_name_not_found(tmp_path, synthetic):
    import shutil
    root = tmp_path / "ds"
    shutil.copytree(synthetic, root)
    names = (root / syn.XTD10_REPO / data.XTD10_NAMES).read_text().split()
    (root / data.COCO_IMAGES / names[2]).unlink()
    with pytest.raises(FileNotFoundError, match=rf"1 of 6 XTD10 test images not found .*{names[2]}"):
        syn.load_synthetic(root)
    with pytest.raises(FileNotFoundError, match="image folder .* not found"):
        data.check_images_exist(tmp_path / "nowhere", names)


def test_photo_captions_cover_every_language_and_unknown_photo_is_an_error(tmp_path):
    from companion.crosslingual.features import embed_photo_captions
    assert all(set(caps) == set(LANGUAGES) for caps in data.PHOTO_CAPTIONS.values())
    with pytest.raises(KeyError, match="no captions for photos"):
        embed_photo_captions("muse", ["not_a_photo"], cache_dir=tmp_path)


@pytest.fixture(scope="module")
def multi30k(tmp_path_factory):
    root = tmp_path_factory.mktemp("m30k")
    return syn.make_synthetic_multi30k(root, n_train=5, n_test=3, seed=2, image_size=24)


def test_multi30k_round_trip_and_layout(multi30k):
    assert (multi30k / "data/task1/raw/test_2016_flickr.fr").is_file()
    assert (multi30k / "data/task1/image_splits/train.txt").is_file()
    train = data.load_multi30k(multi30k, "train", image_dir=multi30k / data.MULTI30K_IMAGES)
    test = data.load_multi30k(multi30k, "test")
    assert len(train) == 5 and len(test) == 3 and len(data.load_multi30k(multi30k, "val")) == 3
    assert set(train.captions) == {"en", "de", "fr"}
    assert not set(train.image_names) & set(test.image_names)
    scenes = json.loads((multi30k / "scenes.json").read_text())
    scene = Scene(**scenes[test.image_names[1]])
    assert test.captions["fr"][1] in [caption(scene, "fr", t) for t in range(3)]


def test_multi30k_reads_gzipped_raw_files(tmp_path, multi30k):
    import gzip
    import shutil
    root = tmp_path / "gz"
    shutil.copytree(multi30k, root)
    path = root / "data/task1/raw/test_2016_flickr.de"
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    assert data.load_multi30k(root, "test").captions["de"] == data.load_multi30k(multi30k, "test").captions["de"]


def test_multi30k_bad_input(tmp_path, multi30k):
    import shutil
    with pytest.raises(ValueError, match="unknown language code 'ja' for Multi30K"):
        data.load_multi30k(multi30k, "test", ["en", "ja"])
    with pytest.raises(ValueError, match="unknown Multi30K split"):
        data.load_multi30k(multi30k, "test2017")
    with pytest.raises(FileNotFoundError, match="task1"):
        data.load_multi30k(tmp_path / "nowhere")
    root = tmp_path / "short"
    shutil.copytree(multi30k, root)
    path = root / "data/task1/raw/train.fr"
    path.write_text("\n".join(path.read_text().splitlines()[:-2]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="train.fr has 3 captions but train.txt has 5"):
        data.load_multi30k(root, "train")
    victim = data.load_multi30k(root, "test").image_names[0]
    (root / data.MULTI30K_IMAGES / victim).unlink()
    with pytest.raises(FileNotFoundError, match=f"1 of 3 Multi30K test images not found .*{victim}"):
        data.load_multi30k(root, "test", image_dir=root / data.MULTI30K_IMAGES)


# ----------------------------------------------------------------------------- the real XTD10 and Multi30K files
def test_vendored_xtd10_loads_as_published():
    xtd = data.load_xtd10(data.REAL_XTD10)
    assert len(xtd) == 1000 and set(xtd.captions) == set(LANGUAGES)
    assert all(len(v) == 1000 and all(v) for v in xtd.captions.values())
    assert xtd.image_names[0] == "COCO_train2014_000000061844.jpg"
    # CRLF files without a final newline (es, ..., zh) lose no caption and keep no "\r"
    assert not any("\r" in c for v in xtd.captions.values() for c in v)
    assert (data.REAL_XTD10 / "LICENSE.md").is_file() and (data.REAL_XTD10 / "SOURCE.md").is_file()
    assert data.xtd10_caption_path(data.REAL_XTD10, "ja").name == "test_1kcaptions_jp.txt"
    assert data.xtd10_caption_path(data.REAL_XTD10, "en").parent.name == "XTD10"
    assert data.xtd10_caption_path(data.REAL_XTD10, "fr").parent.name == "MIC"


def test_vendored_multi30k_test_split_loads():
    m = data.load_multi30k(data.REAL_MULTI30K, "test")
    assert len(m) == 1000 and all(len(v) == 1000 and all(v) for v in m.captions.values())
    assert (data.REAL_MULTI30K / "SOURCE.md").is_file()


@pytest.fixture
def tiny_xtd(tmp_path):
    """A two-image XTD10 repository in the published layout, CRLF line ends and a BOM on one file."""
    root = tmp_path / "Cross-lingual-Test-Dataset-XTD10"
    names = ["COCO_train2014_000000000009.jpg", "COCO_train2014_000000000025.jpg"]
    for lang in LANGUAGES:
        path = data.xtd10_caption_path(root, lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{lang} one\r\n{lang} two".encode())  # no final newline, as upstream
    (root / data.XTD10_NAMES).write_bytes(("\ufeff" + "\n".join(names) + "\n").encode())
    return root


def test_xtd10_crlf_bom_and_language_subset(tiny_xtd):
    xtd = data.load_xtd10(tiny_xtd)
    assert xtd.image_names[0] == "COCO_train2014_000000000009.jpg"  # BOM dropped
    assert xtd.captions["ja"] == ["ja one", "ja two"] and xtd.captions["ko"] == ["ko one", "ko two"]
    assert set(data.load_xtd10(tiny_xtd, ["en", "de"]).captions) == {"en", "de"}


def test_xtd10_bad_input_names_the_file(tiny_xtd):
    # the inner XTD10/ folder is not the root: say where the root is
    with pytest.raises(FileNotFoundError, match="inner XTD10/ folder.*repository root"):
        data.load_xtd10(tiny_xtd / "XTD10")
    (tiny_xtd / "STAIR" / "test_1kcaptions_jp.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"STAIR/test_1kcaptions_jp.txt not found"):
        data.load_xtd10(tiny_xtd)
    assert "ja" not in data.load_xtd10(tiny_xtd, ["en", "fr"]).captions
    mic = tiny_xtd / "MIC" / "test_1kcaptions_fr.txt"
    mic.write_bytes("fr one\n\nfr three\n".encode())
    with pytest.raises(ValueError, match=r"test_1kcaptions_fr.txt has 3 captions but test_image_names.txt has 2"):
        data.load_xtd10(tiny_xtd, ["fr"])
    mic.write_bytes(b"fr one\n\n")  # a blank caption in the middle is malformed, a trailing one is not
    with pytest.raises(ValueError, match=r"test_1kcaptions_fr.txt has 1 captions"):
        data.load_xtd10(tiny_xtd, ["fr"])
    mic.write_bytes(b"\nfr two\n")
    with pytest.raises(ValueError, match=r"test_1kcaptions_fr.txt: 1 blank captions \(lines \[1\]\)"):
        data.load_xtd10(tiny_xtd, ["fr"])
    mic.write_bytes(b"fr \xff\xfe one\nfr two\n")
    with pytest.raises(ValueError, match=r"test_1kcaptions_fr.txt is not utf-8"):
        data.load_xtd10(tiny_xtd, ["fr"])
    names = tiny_xtd / data.XTD10_NAMES
    names.write_text("COCO_train2014_000000000009.jpg\nCOCO_train2014_000000000009.jpg\n")
    with pytest.raises(ValueError, match=r"test_image_names.txt: 1 duplicate image names"):
        data.load_xtd10(tiny_xtd, ["en"])
    names.write_text("")
    with pytest.raises(ValueError, match=r"test_image_names.txt is empty"):
        data.load_xtd10(tiny_xtd, ["en"])
    names.unlink()
    with pytest.raises(FileNotFoundError, match=r"XTD10/test_image_names.txt not found"):
        data.load_xtd10(tiny_xtd, ["en"])


def _coco_json(path, names):
    images = [{"id": data.coco_image_id(n), "file_name": n} for n in names]
    anns = [{"id": k + 1, "image_id": im["id"], "caption": f"caption {k}"} for k, im in enumerate(images)]
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    return path


def test_coco_exclusion_matches_by_image_id_across_naming_schemes(tmp_path):
    assert data.coco_image_id("COCO_train2014_000000061844.jpg") == 61844
    assert data.coco_image_id("000000061844.jpg") == data.coco_image_id("COCO_val2014_000000061844.jpg")
    with pytest.raises(ValueError, match="not a COCO image file name"):
        data.coco_image_id("cat.jpg")
    # a 2017-named json; XTD10 names its test images in the 2014 scheme
    ann = _coco_json(tmp_path / "captions_train2017.json", ["000000000009.jpg", "000000000025.jpg", "000000000030.jpg"])
    with pytest.warns(UserWarning, match=r"1 of 2 images to exclude are not in .*captions_train2017.json"):
        kept = data.load_coco_captions(ann, exclude=["COCO_train2014_000000000025.jpg",
                                                     "COCO_train2014_000000061844.jpg"])
    assert kept.file_names == ["000000000009.jpg", "000000000030.jpg"] and kept.n_excluded == 1
    # and the other way round: a 2014-named json, 2017-style names to exclude; include works by id too
    ann14 = _coco_json(tmp_path / "c14.json", ["COCO_train2014_000000000009.jpg", "COCO_train2014_000000000025.jpg"])
    assert data.load_coco_captions(ann14, exclude=["000000000009.jpg"]).image_ids == [25]
    assert data.load_coco_captions(ann14, include=["000000000009.jpg"]).image_ids == [9]


def test_coco_duplicate_ids_and_missing_file(tmp_path):
    bad = tmp_path / "dup.json"
    bad.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}],
                               "annotations": []}))
    with pytest.raises(ValueError, match=r"dup.json: 1 duplicate image ids"):
        data.load_coco_captions(bad)
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": []}))
    with pytest.raises(ValueError, match=r"dup.json is not a COCO captions file"):
        data.load_coco_captions(bad)
    with pytest.raises(FileNotFoundError, match=r"nowhere.json not found"):
        data.load_coco_captions(tmp_path / "nowhere.json")


def test_oracle_recall_counts_scenes_shared_by_more_than_k_images(synthetic):
    scenes = {f"{i}.jpg": {"count": 1, "colour": "red"} for i in range(3)}
    scenes.update({"x.jpg": {"count": 2, "colour": "red"}})
    names = list(scenes)
    assert syn.oracle_recall_at_k(scenes, names, k=3) == 1.0
    assert syn.oracle_recall_at_k(scenes, names, k=2) == 0.25  # three images share a scene: ties count against
    with pytest.raises(KeyError, match="without a scene"):
        syn.oracle_recall_at_k(scenes, ["nope.jpg"])
    real = json.loads((synthetic / "scenes.json").read_text())
    _, test = syn.load_synthetic(synthetic)
    assert 0 < syn.oracle_recall_at_k(real, test.image_names, k=1) <= 1
