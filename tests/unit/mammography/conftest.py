"""A tiny synthetic set shared by the chapter's tests (generated once per session, about a second)."""

import pytest

from companion.mammography.synthetic import make_synthetic


@pytest.fixture(scope="session")
def tiny_manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("mammo")
    return make_synthetic(root, n_ffdm=14, n_ddsm=14, n_interval=2, image_size=64, seed=3)


@pytest.fixture(scope="session")
def tiny_data(tiny_manifest, tmp_path_factory):
    from companion.mammography.train import load_data

    from companion.mammography.synthetic import read_latent

    data = load_data(tiny_manifest, input_size=67, test_fraction=0.3, split_seed=0,
                     cache_dir=tmp_path_factory.mktemp("cache"))
    data.latent = read_latent(data.manifest, tiny_manifest.parent / "latent.csv")
    return data
