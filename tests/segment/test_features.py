import numpy as np
import pytest
from skimage.color import rgb2lab

from emapps.errors import UserInputError
from emapps.segment.features import pixel_features

from .conftest import blocks_image


def test_lab_rows_are_skimage_lab_in_row_major_order():
    image, _ = blocks_image()
    X = pixel_features(image, "lab")
    np.testing.assert_allclose(X, rgb2lab(image).reshape(-1, 3))


def test_labxy_adds_scaled_column_and_row():
    image = np.zeros((4, 10, 3))
    X = pixel_features(image, "labxy", xy_scale=0.5)
    assert X.shape == (40, 5)
    scale = 0.5 * 100 / 10
    np.testing.assert_allclose(X[13, 3:], [3 * scale, 1 * scale])  # row 1, column 3


def test_grayscale_images_give_one_colour_channel():
    gray = np.linspace(0, 1, 12).reshape(3, 4)
    for kind in ("lab", "rgb", "gray"):
        assert pixel_features(gray, kind).shape == (12, 1)
    assert pixel_features(gray, "labxy").shape == (12, 3)
    np.testing.assert_allclose(pixel_features(gray, "gray")[:, 0], gray.ravel() * 255)


def test_texture_is_local_mean_and_std():
    image = np.zeros((9, 9, 3))
    image[:, ::2] = 1.0  # stripes: high local std, flat rows give none
    X = pixel_features(image, "lab", texture=True, texture_size=3)
    assert X.shape == (81, 5)
    assert X[40, 4] > 40  # centre pixel sees stripes
    flat = pixel_features(np.full((5, 5, 3), 0.5), "lab", texture=True)
    np.testing.assert_allclose(flat[:, 4], 0, atol=1e-5)


def test_unknown_features_and_bad_shapes_are_user_errors():
    with pytest.raises(UserInputError, match="features must be one of"):
        pixel_features(np.zeros((2, 2, 3)), "hsv")
    with pytest.raises(UserInputError, match="H x W"):
        pixel_features(np.zeros(5), "lab")
