"""From a class label map to a segmentation into connected regions.

EM labels pixels with classes; one class can cover several separate areas (sky and a
white shirt).  Regions are the connected components of the class map (8-connected),
with regions smaller than ``min_fraction`` of the image given to the nearest larger
region, numbered 0.. in raster order of their first pixel.
"""

import numpy as np

from ..errors import UserInputError


def connected_regions(labels: np.ndarray, min_fraction: float = 0.01) -> np.ndarray:
    """(H, W) region ids of the class map ``labels`` (see the module docstring)."""
    from scipy import ndimage
    from skimage.measure import label as component_label

    if not 0.0 <= min_fraction < 1.0:
        raise UserInputError(f"minimum region size must be a fraction in [0, 1); "
                             f"got {min_fraction}")
    components = component_label(labels + 1, connectivity=2, background=0)
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    small = sizes < min_fraction * labels.size
    small[np.argmax(sizes)] = False  # the largest region always stays
    mask = small[components]
    if mask.any():
        nearest = ndimage.distance_transform_edt(mask, return_distances=False,
                                                 return_indices=True)
        components = components[tuple(nearest)]
    _, first, inverse = np.unique(components.ravel(), return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse].reshape(labels.shape)
