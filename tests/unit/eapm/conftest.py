"""Fixtures shared by the eapm unit tests: small synthetic COCO sets."""

import pytest

from companion.eapm.synthetic import make_synthetic, synthetic_dataset


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("coco")
    paths = make_synthetic(root, n_train=6, n_val=3, image_size=64, seed=3)
    return root, paths


@pytest.fixture(scope="module")
def syn96(tmp_path_factory):
    return synthetic_dataset(tmp_path_factory.mktemp("syn96"), 32, 2, image_size=96, seed=0)
