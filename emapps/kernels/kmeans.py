"""k-means passes for mixture initialisation: a hard-assignment E-step and its M-step sums.

lloyd: label_n = argmin_k |x_n - c_k|^2, then mass_k = sum w_n, sums_k = sum w_n x_n over
the rows labelled k, and the inertia sum w_n min_k |x_n - c_k|^2.  ``closest`` keeps the
k-means++ running minimum of squared distances.  Unit weights: pass an empty array.
Up to NUMPY_ROWS rows both run in numpy instead: as quick there, and a small fit then
compiles no k-means kernel (1.3 s of a cold start).
"""

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK
from .parallel import CHUNK_ROWS, map_add, map_chunks

#: passes over at most this many rows run in numpy
NUMPY_ROWS = 65536


@kernel(fastmath=REDUCE_FLAGS)
def lloyd_chunk(X, start, stop, sample_weight, centers, labels):
    """(mass, sums, inertia) of rows [start, stop); writes their nearest-centre labels.

    Rows go in blocks of BLOCK, transposed so the distance loops run over rows (SIMD).
    """
    n_clusters, n_features = centers.shape
    mass = np.zeros(n_clusters)
    sums = np.zeros((n_clusters, n_features))
    inertia = 0.0
    weighted = sample_weight.shape[0] > 0
    xt = np.empty((n_features, BLOCK))
    best = np.empty(BLOCK)
    best_k = np.empty(BLOCK, dtype=np.int64)
    distance = np.empty(BLOCK)
    weight = np.empty(BLOCK)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        for b in range(nb):
            for d in range(n_features):
                xt[d, b] = X[first + b, d]
        for b in range(nb):
            best[b] = np.inf
        for k in range(n_clusters):
            for b in range(nb):
                distance[b] = 0.0
            for d in range(n_features):
                c = centers[k, d]
                for b in range(nb):
                    diff = xt[d, b] - c
                    distance[b] += diff * diff
            for b in range(nb):
                closer = distance[b] < best[b]
                best[b] = distance[b] if closer else best[b]
                best_k[b] = k if closer else best_k[b]
        for b in range(nb):
            labels[first + b] = best_k[b]
            weight[b] = sample_weight[first + b] if weighted else 1.0
        for b in range(nb):  # a store-free reduction: no address-dependent alias check
            inertia += weight[b] * best[b]
        for k in range(n_clusters):
            total = 0.0
            for b in range(nb):
                total += weight[b] if best_k[b] == k else 0.0
            mass[k] += total
            for d in range(n_features):
                total = 0.0
                for b in range(nb):
                    total += weight[b] * xt[d, b] if best_k[b] == k else 0.0
                sums[k, d] += total
    return mass, sums, inertia


@kernel(fastmath=REDUCE_FLAGS)
def closest_rows(X, start, stop, center, closest):
    """closest[n] = min(closest[n], |x_n - center|^2) for rows [start, stop)."""
    for n in range(start, stop):
        distance = 0.0
        for d in range(X.shape[1]):
            diff = X[n, d] - center[d]
            distance += diff * diff
        if distance < closest[n]:
            closest[n] = distance


def lloyd_pass(X, sample_weight, centers, labels, chunk_rows=CHUNK_ROWS):
    """One k-means pass over X: (mass, sums, inertia); labels (N,) int64 filled in."""
    if X.shape[0] <= NUMPY_ROWS:
        return _lloyd_numpy(X, sample_weight, centers, labels)
    return map_add(lambda start, stop: lloyd_chunk(X, start, stop, sample_weight, centers,
                                                   labels), X.shape[0], chunk_rows)


def update_closest(X, center, closest, chunk_rows=CHUNK_ROWS) -> None:
    """Lower each row's squared distance to its closest seed with a new seed."""
    if X.shape[0] <= NUMPY_ROWS:
        np.minimum(closest, _squared_distances(X, center), out=closest)
        return
    map_chunks(lambda start, stop: closest_rows(X, start, stop, center, closest), X.shape[0],
               chunk_rows)


def _squared_distances(X, center):
    return ((X - center) ** 2).sum(axis=1)


def _lloyd_numpy(X, sample_weight, centers, labels):
    """lloyd_chunk over all rows, in numpy (ties go to the first centre, as there)."""
    distances = np.stack([_squared_distances(X, center) for center in centers], axis=1)
    labels[:] = distances.argmin(axis=1)
    weight = sample_weight if sample_weight.shape[0] else np.ones(X.shape[0])
    n_clusters = centers.shape[0]
    mass = np.bincount(labels, weights=weight, minlength=n_clusters)
    sums = np.stack([np.bincount(labels, weights=weight * column, minlength=n_clusters)
                     for column in X.T], axis=1)
    return mass, sums, float(weight @ distances[np.arange(X.shape[0]), labels])
