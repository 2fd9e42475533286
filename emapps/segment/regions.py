"""From a class label map to a segmentation into connected regions.

EM labels pixels with classes; one class can cover several separate areas (sky and a
white shirt), and two classes can split one smoothly shaded surface.  Regions are the
connected components of the class map (8-connected), with regions smaller than
``min_fraction`` of the image given to the nearest larger region; adjacent regions of
nearly the same mean colour can then be merged.  Ids run 0.. in raster order of each
region's first pixel.
"""

import numpy as np

from ..errors import UserInputError


def check_region_settings(min_fraction: float, merge_threshold: float = 0.0) -> None:
    if not 0.0 <= min_fraction < 1.0:
        raise UserInputError(f"minimum region size must be a fraction in [0, 1); "
                             f"got {min_fraction}")
    if not merge_threshold >= 0:
        raise UserInputError(f"colour merge threshold must be >= 0; got {merge_threshold}")


def connected_regions(labels: np.ndarray, min_fraction: float = 0.01) -> np.ndarray:
    """(H, W) region ids of the class map ``labels`` (see the module docstring)."""
    from scipy import ndimage
    from skimage.measure import label as component_label

    check_region_settings(min_fraction)
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
    return _renumber(components)


def image_regions(labels: np.ndarray, colours: np.ndarray, min_fraction: float = 0.005,
                  merge_threshold: float = 0.0) -> np.ndarray:
    """Connected regions of ``labels``, then (threshold > 0) similar neighbours merged."""
    check_region_settings(min_fraction, merge_threshold)
    regions = connected_regions(labels, min_fraction)
    if merge_threshold > 0:
        regions = merge_similar_regions(regions, colours, merge_threshold)
    return regions


def merge_similar_regions(regions: np.ndarray, colours: np.ndarray,
                          threshold: float) -> np.ndarray:
    """Merge adjacent regions whose mean colours are closer than ``threshold``.

    Greedy agglomeration: the closest adjacent pair (Euclidean distance of mean colour,
    CIE76 delta E for Lab) is merged and its mean recomputed, until no adjacent pair is
    closer than the threshold.  ``colours`` is (H*W, C); ids are renumbered as in
    :func:`connected_regions`.
    """
    n_regions = int(regions.max()) + 1
    flat = regions.ravel()
    counts = np.bincount(flat, minlength=n_regions).astype(np.float64)
    sums = np.stack([np.bincount(flat, colours[:, c], minlength=n_regions)
                     for c in range(colours.shape[1])], axis=1)
    neighbours = _adjacency(regions, n_regions)
    parent = np.arange(n_regions)
    alive = set(range(n_regions))
    while True:
        best, pair = threshold, None
        for a in alive:
            for b in neighbours[a]:
                if a < b:
                    distance = np.linalg.norm(sums[a] / counts[a] - sums[b] / counts[b])
                    if distance < best:
                        best, pair = distance, (a, b)
        if pair is None:
            break
        keep, gone = pair
        counts[keep] += counts[gone]
        sums[keep] += sums[gone]
        parent[parent == gone] = keep
        alive.discard(gone)
        for other in neighbours.pop(gone):
            neighbours[other].discard(gone)
            if other != keep:
                neighbours[other].add(keep)
                neighbours[keep].add(other)
    return _renumber(parent[regions])


def _adjacency(regions: np.ndarray, n_regions: int) -> dict[int, set]:
    """{region: set of regions sharing a horizontal or vertical pixel edge}."""
    pairs = [np.stack([regions[:, :-1].ravel(), regions[:, 1:].ravel()], axis=1),
             np.stack([regions[:-1].ravel(), regions[1:].ravel()], axis=1)]
    pairs = np.concatenate(pairs)
    pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
    neighbours = {region: set() for region in range(n_regions)}
    for a, b in pairs:
        neighbours[int(a)].add(int(b))
        neighbours[int(b)].add(int(a))
    return neighbours


def _renumber(ids: np.ndarray) -> np.ndarray:
    """0.. in raster order of each id's first pixel."""
    _, first, inverse = np.unique(ids.ravel(), return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse].reshape(ids.shape)
