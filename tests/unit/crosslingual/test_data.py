import json

import numpy as np
import pytest

from companion.crosslingual import data
from companion.crosslingual.grammar import LANGUAGES, Scene, caption


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    data.make_synthetic(root, n_train=12, n_test=6, seed=3, image_size=32, captions_per_image=2)
    return root


def test_round_trip_real_layouts(synthetic):
    xtd = synthetic / data.XTD10_FOLDER
    # the real XTD10 layout: de/en/fr under MIC, ja under STAIR, others at the top
    assert (xtd / "MIC" / "test_1kcaptions_de.txt").is_file()
    assert (xtd / "STAIR" / "test_1kcaptions_ja.txt").is_file()
    assert (xtd / "test_1kcaptions_ko.txt").is_file()
    train, test = data.load_synthetic(synthetic)
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
    train, test = data.load_synthetic(synthetic)
    assert not set(train.file_names) & set(test.image_names)
    everything = data.load_coco_captions(synthetic / data.COCO_ANNOTATIONS, synthetic / data.COCO_IMAGES)
    # COCO lists the test images in train2014 too: without exclusion they would leak
    assert set(test.image_names) <= set(everything.file_names)


def test_generator_is_deterministic(tmp_path):
    a = data.make_synthetic(tmp_path / "a", 4, 3, seed=1, image_size=24)
    b = data.make_synthetic(tmp_path / "b", 4, 3, seed=1, image_size=24)
    for rel in ["annotations/captions_train2014.json", "XTD10/test_1kcaptions_tr.txt"]:
        assert (a / rel).read_text() == (b / rel).read_text()
    name = (a / "XTD10/test_image_names.txt").read_text().split()[0]
    assert (a / "train2014" / name).read_bytes() == (b / "train2014" / name).read_bytes()


def test_unknown_language_is_rejected(synthetic):
    with pytest.raises(ValueError, match="unknown language code 'xx'"):
        data.load_xtd10(synthetic / data.XTD10_FOLDER, ["en", "xx"])
    with pytest.raises(ValueError, match="unknown language"):
        caption(Scene(1, "red", "circle", "left", "blue", "square"), "pt")


def test_caption_files_of_different_length(tmp_path, synthetic):
    import shutil
    root = tmp_path / "xtd"
    shutil.copytree(synthetic / data.XTD10_FOLDER, root)
    path = root / "test_1kcaptions_pl.txt"
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
    im = np.asarray(data.render_scene(scene, 64, rng)).astype(int)
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
    names = (root / data.XTD10_FOLDER / "test_image_names.txt").read_text().split()
    (root / data.COCO_IMAGES / names[2]).unlink()
    with pytest.raises(FileNotFoundError, match=rf"1 of 6 XTD10 test images not found .*{names[2]}"):
        data.load_synthetic(root)
    with pytest.raises(FileNotFoundError, match="image folder .* not found"):
        data.check_images_exist(tmp_path / "nowhere", names)


def test_photo_captions_cover_every_language_and_unknown_photo_is_an_error(tmp_path):
    from companion.crosslingual.train import embed_photo_captions
    assert all(set(caps) == set(LANGUAGES) for caps in data.PHOTO_CAPTIONS.values())
    with pytest.raises(KeyError, match="no captions for photos"):
        embed_photo_captions("muse", ["not_a_photo"], cache_dir=tmp_path)


@pytest.fixture(scope="module")
def multi30k(tmp_path_factory):
    root = tmp_path_factory.mktemp("m30k")
    return data.make_synthetic_multi30k(root, n_train=5, n_test=3, seed=2, image_size=24)


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
