"""k-means passes, the kernels and the small-input numpy route, against scipy and numpy."""

import numpy as np
import pytest
from scipy.cluster.vq import vq

from emapps.kernels import kmeans
from emapps.kernels.kmeans import lloyd_pass, update_closest


@pytest.fixture(params=["kernel", "numpy"])
def route(request, monkeypatch):
    """Run each test through the kernels (no row count small enough for numpy) and through
    the numpy route."""
    if request.param == "kernel":
        monkeypatch.setattr(kmeans, "NUMPY_ROWS", 0)
    return request.param


@pytest.mark.parametrize("weighted", [False, True])
def test_lloyd_pass_matches_numpy(weighted, route):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    centers = rng.normal(size=(5, 3))
    weights = rng.uniform(0.5, 2, size=1000) if weighted else np.empty(0)
    labels = np.empty(1000, dtype=np.int64)
    mass, sums, inertia = lloyd_pass(X, weights, centers, labels, chunk_rows=300)
    expected, distances = vq(X, centers)
    np.testing.assert_array_equal(labels, expected)
    w = weights if weighted else np.ones(1000)
    np.testing.assert_allclose(mass, np.bincount(expected, w, minlength=5), rtol=1e-12)
    for k in range(5):
        np.testing.assert_allclose(sums[k], (w[expected == k, None] * X[expected == k]).sum(0),
                                   rtol=1e-10, atol=1e-12)
    assert inertia == pytest.approx(float(w @ distances**2), rel=1e-10)


def test_update_closest_keeps_the_running_minimum(route):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(700, 2))
    closest = np.full(700, np.inf)
    seeds = X[[3, 50, 400]]
    for seed in seeds:
        update_closest(X, seed, closest, chunk_rows=256)
    expected = ((X[:, None, :] - seeds[None]) ** 2).sum(axis=2).min(axis=1)
    np.testing.assert_allclose(closest, expected, rtol=1e-12)
