"""Initial responsibilities for Gaussian mixtures (initialisation is a fake E-step).

'kmeans' runs Lloyd's k-means from k-means++ seeds; 'k-means++' and
'random_from_data' assign every row to its nearest seed (scikit-learn only marks
the seeds themselves, which starts EM from near-singular covariances); 'random'
draws Dirichlet-like uniform responsibilities.
"""

import numpy as np

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


def _rows(X):
    return np.ascontiguousarray(X, dtype=np.float64)


def _weights(sample_weight):
    return np.empty(0) if sample_weight is None else np.ascontiguousarray(sample_weight,
                                                                          dtype=np.float64)


def kmeans_plusplus(X, n_clusters, rng, sample_weight=None):
    """k-means++ seeding (Arthur & Vassilvitskii 2007): next seed drawn with p ~ w d^2."""
    from ..kernels.kmeans import update_closest

    X = _rows(X)
    n_rows = X.shape[0]
    weights = np.ones(n_rows) if sample_weight is None else sample_weight
    first = _draw(rng, weights)
    centers = [X[first].copy()]
    closest = np.full(n_rows, np.inf)
    update_closest(X, centers[0], closest)
    for _ in range(1, n_clusters):
        mass = closest * weights
        index = _draw(rng, mass) if mass.sum() > 0 else rng.integers(n_rows)
        centers.append(X[index].copy())
        update_closest(X, centers[-1], closest)
    return np.array(centers)


def _draw(rng, mass) -> int:
    """One index drawn with probability proportional to ``mass`` (one uniform number)."""
    cumulative = np.cumsum(mass)
    return min(int(np.searchsorted(cumulative, rng.uniform() * cumulative[-1], side="right")),
               len(mass) - 1)


def nearest(X, centers):
    """Index of each row's nearest centre."""
    from ..kernels.kmeans import lloyd_pass

    labels = np.empty(X.shape[0], dtype=np.int64)
    lloyd_pass(_rows(X), np.empty(0), np.ascontiguousarray(centers, dtype=np.float64), labels)
    return labels


def lloyd(X, centers, sample_weight=None, max_iter=300, tol=1e-4):
    """Lloyd's k-means from ``centers``; returns the labels (empty clusters keep their centre).

    Stops when the centres move by less than tol times the mean feature variance
    (scikit-learn's rule), the labels then being those of the last centres.
    """
    from ..kernels.kmeans import lloyd_pass

    X = _rows(X)
    weights = _weights(sample_weight)
    scale = tol * np.mean(np.var(X, axis=0))
    labels = np.empty(X.shape[0], dtype=np.int64)
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    mass, sums, _ = lloyd_pass(X, weights, centers, labels)
    for _ in range(max_iter):
        moved = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-300)[:, None], centers)
        shift = ((moved - centers) ** 2).sum()
        centers = moved
        mass, sums, _ = lloyd_pass(X, weights, centers, labels)
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
