"""Synthetic images with known segmentations, and the BSDS500 slice when present."""

import numpy as np
import pytest

from ..conftest import DATA, SHARED

BSDS = SHARED / "data" / "images" / "bsds500_val20"


def blocks_image(seed=0, noise=0.03, size=(24, 32)):
    """Dark left half, bright right half, a mid-gray square in the middle; (image, truth)."""
    rng = np.random.default_rng(seed)
    height, width = size
    truth = np.zeros(size, dtype=int)
    truth[:, width // 2:] = 2
    truth[height // 4: 3 * height // 4, width // 4: width // 2] = 1
    levels = np.array([[0.15, 0.2, 0.6], [0.5, 0.5, 0.5], [0.9, 0.85, 0.3]])
    image = levels[truth] + rng.normal(scale=noise, size=(*size, 3))
    return np.clip(image, 0, 1), truth


@pytest.fixture
def blocks():
    return blocks_image()


@pytest.fixture(scope="session")
def bsds():
    if not BSDS.is_dir():
        pytest.skip(f"BSDS500 slice not found at {BSDS} (non-redistributable; set "
                    f"EMAPPS_SHARED to the shared data folder)")
    return BSDS


@pytest.fixture(scope="session")
def demo_images():
    return DATA / "images"
