"""Bootstrap standard errors of fitted mixture parameters (as mclust's MclustBootstrap).

Each replicate resamples rows with replacement, expressed as multinomial counts used as
sample weights (no copy of X), refits by EM from the fitted parameters, and matches its
components to the original ones by the assignment that minimises the distance between
means (Hungarian algorithm), so label switching does not inflate the errors.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..em import fit_em
from .gaussian_em import MixtureData


@dataclass(frozen=True)
class BootstrapResult:
    """Standard errors (same shapes as the parameters) and every replicate's parameters."""

    weights_se: np.ndarray
    means_se: np.ndarray
    covariances_se: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def align(reference_means, means) -> np.ndarray:
    """Permutation of ``means`` rows that best matches ``reference_means``."""
    cost = ((reference_means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    _, order = linear_sum_assignment(cost)
    return order


def bootstrap(estimator, X, n_boot, seed, sample_weight, max_iter, tol) -> BootstrapResult:
    """Refit ``estimator``'s model on ``n_boot`` resamples of X."""
    fitted = estimator.params_
    model = estimator._model()
    base = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    children = seed.spawn(n_boot)
    replicates = []
    for child in children:
        rng = np.random.default_rng(child)
        counts = rng.multinomial(len(X), base / base.sum()).astype(np.float64)
        weight = counts * base
        result = fit_em(model, MixtureData.build(X, weight), seed=child, max_iter=max_iter,
                        tol=tol, init_params=fitted, warn=False)
        params = result.params
        order = align(fitted.means, params.means)
        covariances = params.covariances
        if params.covariance_type != "tied":
            covariances = covariances[order]
        replicates.append((params.weights[order], params.means[order], covariances))
    weights, means, covariances = (np.array(part) for part in zip(*replicates))
    return BootstrapResult(weights.std(axis=0, ddof=1), means.std(axis=0, ddof=1),
                           covariances.std(axis=0, ddof=1), weights, means, covariances)
