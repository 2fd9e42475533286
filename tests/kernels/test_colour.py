"""The Lab kernel against scikit-image's rgb2lab."""

import numpy as np
from skimage.color import rgb2lab

from emapps.kernels.colour import rgb_to_lab


def test_lab_matches_scikit_image_including_dark_and_saturated_colours():
    rng = np.random.default_rng(0)
    rgb = np.concatenate([rng.uniform(size=(5000, 3)),
                          [[0, 0, 0], [1, 1, 1], [0.01, 0.02, 0.03], [1, 0, 0], [0, 0, 1]]])
    out = np.full((rgb.shape[0], 5), -1.0)
    rgb_to_lab(rgb, out)
    np.testing.assert_allclose(out[:, :3], rgb2lab(rgb[None])[0], rtol=1e-10, atol=1e-10)
    assert np.all(out[:, 3:] == -1.0)  # other columns untouched
