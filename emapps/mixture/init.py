"""Initial responsibilities for Gaussian mixtures (initialisation is a fake E-step).

'kmeans' runs Lloyd's k-means from k-means++ seeds; 'k-means++' and
'random_from_data' assign every row to its nearest seed (scikit-learn only marks
the seeds themselves, which starts EM from near-singular covariances); 'random'
draws Dirichlet-like uniform responsibilities.
"""

import numpy as np
from scipy.cluster.vq import vq

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def kmeans_plusplus(X, n_clusters, rng, sample_weight=None):
    """k-means++ seeding (Arthur & Vassilvitskii 2007): next seed drawn with p ~ w d^2."""
    n_rows = X.shape[0]
    weights = np.ones(n_rows) if sample_weight is None else sample_weight
    first = rng.choice(n_rows, p=weights / weights.sum())
    centers = [X[first].astype(np.float64)]
    closest = ((X - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, n_clusters):
        mass = closest * weights
        total = mass.sum()
        index = rng.choice(n_rows, p=mass / total) if total > 0 else rng.integers(n_rows)
        centers.append(X[index].astype(np.float64))
        np.minimum(closest, ((X - centers[-1]) ** 2).sum(axis=1), out=closest)
    return np.array(centers)


def nearest(X, centers):
    labels, _ = vq(np.asarray(X, dtype=np.float64), centers, check_finite=False)
    return labels


def lloyd(X, centers, sample_weight=None, max_iter=300, tol=1e-4):
    """Lloyd's k-means from ``centers``; returns the labels (empty clusters keep their centre)."""
    X = np.asarray(X, dtype=np.float64)
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    scale = tol * np.mean(np.var(X, axis=0))
    labels = nearest(X, centers)
    for _ in range(max_iter):
        mass = np.bincount(labels, weights, minlength=len(centers))
        sums = np.stack([np.bincount(labels, weights * X[:, j], minlength=len(centers))
                         for j in range(X.shape[1])], axis=1)
        moved = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-300)[:, None], centers)
        shift = ((moved - centers) ** 2).sum()
        centers = moved
        labels = nearest(X, centers)
        if shift <= scale:
            break
    return labels


def one_hot(labels, n_components):
    resp = np.zeros((labels.shape[0], n_components))
    resp[np.arange(labels.shape[0]), labels] = 1.0
    return resp


def initial_responsibilities(X, n_components, method, rng, sample_weight=None):
    """(N, K) responsibilities for ``method`` (one of INIT_METHODS)."""
    if method == "random":
        resp = rng.uniform(size=(X.shape[0], n_components))
        return resp / resp.sum(axis=1, keepdims=True)
    if method == "random_from_data":
        seeds = X[rng.choice(X.shape[0], size=n_components, replace=False)].astype(np.float64)
        return one_hot(nearest(X, seeds), n_components)
    seeds = kmeans_plusplus(X, n_components, rng, sample_weight)
    if method == "k-means++":
        return one_hot(nearest(X, seeds), n_components)
    if method == "kmeans":
        return one_hot(lloyd(X, seeds, sample_weight), n_components)
    raise ValueError(f"init_params must be one of {INIT_METHODS}, got {method!r}")
