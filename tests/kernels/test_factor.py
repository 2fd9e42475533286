"""Factor-analysis E-step against its term-by-term twin and, for point-mass items, the
exact marginal likelihood."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emapps.kernels.factor import factor_estep, factor_user_posteriors

from . import reference


def item_moments(rng, n_items, n_factors, spread):
    """Random Gaussian q(b_i, w_i) as the kernel's moment arrays (spread 0: point masses)."""
    mean = rng.normal(scale=0.5, size=(n_items, n_factors + 1))
    factor = rng.normal(scale=spread, size=(n_items, n_factors + 1, n_factors + 1))
    covariance = factor @ factor.transpose(0, 2, 1)
    vx_mean = np.column_stack([np.ones(n_items), mean[:, 1:]])
    outer = np.einsum("nd,ne->nde", vx_mean, vx_mean)
    outer[:, 1:, 1:] += covariance[:, 1:, 1:]
    cross = mean[:, :1] * vx_mean
    cross[:, 1:] += covariance[:, 0, 1:]
    bias_square = mean[:, 0] ** 2 + covariance[:, 0, 0]
    return mean[:, 0].copy(), np.ascontiguousarray(mean[:, 1:]), outer, cross, bias_square


def random_ratings(rng, n_users=40, n_items=25, n_factors=3, spread=0.2):
    counts = rng.integers(0, 9, size=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    items = np.concatenate([np.sort(rng.choice(n_items, size=c, replace=False))
                            for c in counts]).astype(np.int64)
    values = rng.normal(size=indptr[-1])
    return (indptr, items, values, *item_moments(rng, n_items, n_factors, spread), 0.2, 0.7)


@pytest.mark.parametrize("seed", range(3))
def test_factor_estep_matches_the_term_by_term_bound(seed, threads):
    arguments = random_ratings(np.random.default_rng(seed))
    expected = reference.factor_estep(*arguments)
    for n_threads in (1, 2):
        threads(n_threads)
        got = factor_estep(*arguments)
        for value, want in zip(got, expected):
            np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-10)


def test_point_mass_items_give_the_exact_marginal_likelihood():
    indptr, items, values, bias, loadings, *moments, bias_var, noise_var = random_ratings(
        np.random.default_rng(9), spread=0.0)
    loglik = factor_estep(indptr, items, values, bias, loadings, *moments, bias_var,
                          noise_var)[-1]
    exact = 0.0
    prior = np.diag(np.r_[bias_var, np.ones(loadings.shape[1])])
    for u in range(indptr.shape[0] - 1):
        rated = items[indptr[u]:indptr[u + 1]]
        if rated.size:
            design = np.column_stack([np.ones(rated.size), loadings[rated]])
            covariance = noise_var * np.eye(rated.size) + design @ prior @ design.T
            exact += multivariate_normal(bias[rated], covariance).logpdf(
                values[indptr[u]:indptr[u + 1]])
    assert loglik == pytest.approx(exact, rel=1e-10)


def test_user_posteriors_are_the_estep_means():
    arguments = random_ratings(np.random.default_rng(4))
    indptr, items, values, *rest = arguments
    bias_var = rest[-2]
    means, variances = factor_user_posteriors(*arguments)
    for u in range(indptr.shape[0] - 1):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            assert np.all(means[u] == 0.0)  # no ratings: the prior
            assert variances[u, 0] == pytest.approx(bias_var)
            continue
        second, *_ = reference.factor_estep(np.array([0, hi - lo]), items[lo:hi],
                                            values[lo:hi], *rest)
        item = items[lo]
        np.testing.assert_allclose(means[u], second[item, 0, 1:], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(variances[u], np.diag(second[item, 1:, 1:])
                                   - second[item, 0, 1:] ** 2, rtol=1e-8, atol=1e-12)
