import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emapps.kernels import gaussian as kernels
from tests.conftest import precision_cholesky_upper, random_spd
from tests.kernels import reference


def problem(seed, n_rows, n_features, n_components, weighted=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features)) * 3 + 10
    means = X[rng.choice(n_rows, n_components)] + rng.normal(size=(n_components, n_features))
    cov = random_spd(rng, n_components, n_features)
    prec_full = precision_cholesky_upper(cov)
    prec_diag = 1 / np.sqrt(rng.uniform(0.5, 4, size=(n_components, n_features)))
    weights = rng.dirichlet(np.ones(n_components))
    sample_weight = rng.uniform(0, 3, n_rows) if weighted else np.empty(0)
    return X, sample_weight, np.log(weights), means, prec_full, prec_diag


shapes = st.tuples(st.integers(1, 700), st.integers(1, 9), st.integers(1, 6),
                   st.booleans(), st.integers(0, 2**16))


@settings(deadline=None, max_examples=25)
@given(shapes)
def test_full_pass_matches_numpy_twin(shape):
    n_rows, n_features, n_components, weighted, seed = shape
    X, sw, lw, means, prec, _ = problem(seed, n_rows, n_features, n_components, weighted)
    ours = kernels.gaussian_pass_full(kernels.feature_columns(X), sw, lw, means, prec, 97)
    twin = reference.gaussian_pass(X, sw, lw, means, prec, full=True)
    for a, b in zip(ours, twin):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("n_features", [1, 3, 7, 8])
def test_feature_columns_are_x_transposed_in_its_dtype_with_a_zero_row_for_padded_tiles(
        n_features):
    X = np.random.default_rng(n_features).normal(size=(1000, n_features)).astype(np.float32)
    columns = kernels.feature_columns(X)
    assert columns.dtype == np.float32 and columns.flags.c_contiguous
    assert columns.shape == (n_features + (n_features == 7), 1000)
    np.testing.assert_array_equal(columns[:n_features], X.T)
    assert not columns[n_features:].any()


@pytest.mark.parametrize("n_features", range(1, 11))
def test_full_pass_and_log_joint_for_every_tile_remainder(n_features):
    """D = 3 and 5 have kernels of their own; otherwise D mod 4 = 1, 2 go through row
    loops, 0 and 3 through padded tiles."""
    X, sw, lw, means, prec, _ = problem(n_features, 300, n_features, 3, weighted=True)
    ours = kernels.gaussian_pass_full(kernels.feature_columns(X), sw, lw, means, prec, 97)
    for a, b in zip(ours, reference.gaussian_pass(X, sw, lw, means, prec, full=True)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(kernels.gaussian_log_joint_full(X, lw, means, prec),
                               reference.log_joint_full(X, lw, means, prec), rtol=1e-10)
    resp = np.random.default_rng(0).dirichlet(np.ones(3), size=300)
    for a, b in zip(kernels.weighted_moments(X, resp, means, True),
                    reference.moments(X, resp, means, True)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-8)


@settings(deadline=None, max_examples=25)
@given(shapes)
def test_diag_pass_matches_numpy_twin(shape):
    n_rows, n_features, n_components, weighted, seed = shape
    X, sw, lw, means, _, prec = problem(seed, n_rows, n_features, n_components, weighted)
    ours = kernels.gaussian_pass_diag(kernels.feature_columns(X), sw, lw, means, prec, 97)
    twin = reference.gaussian_pass(X, sw, lw, means, prec, full=False)
    for a, b in zip(ours, twin):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("full", [True, False])
def test_log_joint_matches_twin(full):
    X, _, lw, means, prec_full, prec_diag = problem(1, 513, 5, 3)
    if full:
        ours = kernels.gaussian_log_joint_full(X, lw, means, prec_full)
        twin = reference.log_joint_full(X, lw, means, prec_full)
    else:
        ours = kernels.gaussian_log_joint_diag(X, lw, means, prec_diag)
        twin = reference.log_joint_diag(X, lw, means, prec_diag)
    np.testing.assert_allclose(ours, twin, rtol=1e-12)


def test_log_joint_matches_scipy_density():
    from scipy.stats import multivariate_normal
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 3))
    cov = random_spd(rng, 2, 3)
    means = rng.normal(size=(2, 3))
    ours = kernels.gaussian_log_joint_full(X, np.zeros(2), means, precision_cholesky_upper(cov))
    for k in range(2):
        np.testing.assert_allclose(ours[:, k], multivariate_normal(means[k], cov[k]).logpdf(X),
                                   rtol=1e-12)


@pytest.mark.parametrize("full", [True, False])
def test_weighted_moments_match_twin(full):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1000, 4))
    resp = rng.dirichlet(np.ones(3), size=1000)
    shift = rng.normal(size=(3, 4))
    nk, sx, sxx = kernels.weighted_moments(X, resp, shift, full, 300)
    twin = reference.moments(X, resp, shift, full)
    np.testing.assert_allclose(nk, twin[0], rtol=1e-12)
    np.testing.assert_allclose(sx, twin[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sxx, twin[2], rtol=1e-10)


@pytest.mark.parametrize("name", ["gaussian_pass_full", "gaussian_pass_diag"])
def test_one_and_two_threads_bitwise_identical(threads, name):
    X, sw, lw, means, prec_full, prec_diag = problem(6, 20000, 6, 4, weighted=True)
    prec = prec_full if name.endswith("full") else prec_diag
    run = getattr(kernels, name)
    threads(1)
    columns = kernels.feature_columns(X)
    one = run(columns, sw, lw, means, prec, 1024)
    threads(2)
    two = run(columns, sw, lw, means, prec, 1024)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


def test_float32_input_accumulates_in_float64():
    X, sw, lw, means, prec, _ = problem(7, 3000, 3, 2)
    single = X.astype(np.float32)
    single, double = [kernels.gaussian_pass_full(kernels.feature_columns(values), sw, lw,
                                                 means, prec, 512)
                      for values in (single, single.astype(np.float64))]
    for a, b in zip(single, double):  # same values; only the summation order may differ
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-9)


def test_component_with_zero_weight_gets_no_responsibility():
    X, sw, lw, means, prec, _ = problem(8, 400, 2, 3)
    lw = lw.copy()
    lw[1] = -np.inf
    nk, sx, sxx, loglik, _ = kernels.gaussian_pass_full(kernels.feature_columns(X), sw, lw,
                                                        means, prec, 128)
    assert nk[1] == 0.0 and np.all(sx[1] == 0.0) and np.isfinite(loglik)


def test_inverse_cholesky_factors_match_numpy_and_name_the_singular_component():
    from emapps.mixture.covariance import inverse_cholesky_factors
    rng = np.random.default_rng(9)
    cov = random_spd(rng, 4, 6)
    ours, failed = inverse_cholesky_factors(cov)
    assert failed == -1
    np.testing.assert_allclose(ours, precision_cholesky_upper(cov), rtol=1e-12, atol=1e-14)
    assert np.all(np.tril(ours[0], -1) == 0)
    cov[2] = np.outer(cov[2][0], cov[2][0])  # rank one
    assert inverse_cholesky_factors(cov)[1] == 2
    cov[1, 0, 0] = np.nan
    assert inverse_cholesky_factors(cov)[1] == 1


@pytest.mark.parametrize("full", [True, False])
def test_argmax_pass_labels_rows_like_the_dense_log_joint(full):
    from emapps.kernels.gaussian import (gaussian_argmax, gaussian_log_joint_diag,
                                         gaussian_log_joint_full)
    rng = np.random.default_rng(11)
    X = rng.normal(size=(5000, 3))
    means = rng.normal(size=(4, 3))
    log_weights = np.log(rng.dirichlet(np.ones(4)))
    if full:
        precisions = np.repeat(np.eye(3)[None], 4, axis=0) * rng.uniform(0.5, 2, (4, 1, 1))
        dense = gaussian_log_joint_full(X, log_weights, means, precisions)
    else:
        precisions = rng.uniform(0.5, 2, size=(4, 3))
        dense = gaussian_log_joint_diag(X, log_weights, means, precisions)
    labels = gaussian_argmax(X, log_weights, means, precisions, full, chunk_rows=777)
    np.testing.assert_array_equal(labels, dense.argmax(axis=1))
