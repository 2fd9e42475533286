"""Factor-analysis E-step against its dense-Gaussian twin."""

import numpy as np
import pytest

from emapps.kernels.factor import factor_estep, factor_user_posteriors

from . import reference


def random_ratings(rng, n_users=40, n_items=25, n_factors=3):
    counts = rng.integers(0, 9, size=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    items = np.concatenate([np.sort(rng.choice(n_items, size=c, replace=False))
                            for c in counts]).astype(np.int64)
    values = rng.normal(size=indptr[-1])
    return (indptr, items, values, rng.normal(scale=0.3, size=n_items),
            rng.normal(scale=0.5, size=(n_items, n_factors)), 0.2, 0.7)


@pytest.mark.parametrize("seed", range(3))
def test_factor_estep_matches_dense_gaussians(seed, threads):
    arguments = random_ratings(np.random.default_rng(seed))
    expected = reference.factor_estep(*arguments)
    for n_threads in (1, 2):
        threads(n_threads)
        got = factor_estep(*arguments)
        for value, want in zip(got, expected):
            np.testing.assert_allclose(value, want, rtol=1e-9, atol=1e-10)


def test_user_posteriors_are_the_estep_means():
    indptr, items, values, bias, loadings, bias_var, noise_var = random_ratings(
        np.random.default_rng(4))
    means, variances = factor_user_posteriors(indptr, items, values, bias, loadings,
                                              bias_var, noise_var)
    for u in range(indptr.shape[0] - 1):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            assert np.all(means[u] == 0.0)  # no ratings: the prior
            assert variances[u, 0] == pytest.approx(bias_var)
            continue
        second, *_ = reference.factor_estep(np.array([0, hi - lo]), items[lo:hi],
                                            values[lo:hi], bias, loadings, bias_var,
                                            noise_var)
        item = items[lo]
        np.testing.assert_allclose(means[u], second[item, 0, 1:], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(variances[u], np.diag(second[item, 1:, 1:])
                                   - second[item, 0, 1:] ** 2, rtol=1e-8, atol=1e-12)
