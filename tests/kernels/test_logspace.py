import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp

from emapps.kernels.logspace import (exp_inplace, log_inplace, logsumexp_rows,
                                     normalize_log_rows, posterior_block)

finite = st.floats(-800, 700, allow_nan=False)


@settings(deadline=None, max_examples=60)
@given(arrays(np.float64, st.integers(1, 300), elements=finite))
def test_exp_matches_numpy_within_two_ulp(values):
    ours = values.copy()
    exp_inplace(ours)
    expected = np.exp(values)
    normal = expected > 1e-300
    assert np.all(np.abs(ours[normal] - expected[normal]) <= 2 * np.spacing(expected[normal]))
    assert np.all(ours[values < -708] == 0.0)


def test_exp_edge_values():
    values = np.array([0.0, -np.inf, -708.0, -1e-300, 1.0, 709.0])
    ours = values.copy()
    exp_inplace(ours)
    assert ours[0] == 1.0 and ours[1] == 0.0 and ours[3] == 1.0
    np.testing.assert_allclose(ours[[2, 4, 5]], np.exp(values[[2, 4, 5]]), rtol=3e-16)


@settings(deadline=None, max_examples=40)
@given(arrays(np.float64, st.tuples(st.integers(1, 50), st.integers(1, 12)),
              elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_logsumexp_rows_matches_scipy(values):
    np.testing.assert_allclose(logsumexp_rows(values), logsumexp(values, axis=1),
                               rtol=1e-13, atol=1e-12)


def test_logsumexp_rows_of_minus_infinity():
    values = np.array([[-np.inf, -np.inf], [-np.inf, 0.0]])
    np.testing.assert_array_equal(logsumexp_rows(values), [-np.inf, 0.0])


def test_normalize_log_rows_gives_posteriors():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(20, 4)) * 50
    expected_norm = logsumexp(values, axis=1)
    norm = normalize_log_rows(values)
    np.testing.assert_allclose(norm, expected_norm, rtol=1e-13)
    np.testing.assert_allclose(np.exp(values).sum(axis=1), 1.0, rtol=1e-13)


@settings(deadline=None, max_examples=60)
@given(arrays(np.float64, st.integers(1, 300),
              elements=st.floats(1e-300, 1e300, allow_nan=False, allow_infinity=False)))
def test_log_matches_numpy_within_two_ulp(values):
    ours = values.copy()
    log_inplace(ours)
    expected = np.log(values)
    assert np.all(np.abs(ours - expected) <= 2 * np.spacing(np.abs(expected)) + 1e-300)


def test_log_of_exact_values():
    values = np.array([1.0, 2.0, 0.5, np.e, 1024.0])
    log_inplace(values)
    np.testing.assert_allclose(values, [0.0, np.log(2), -np.log(2), 1.0, 10 * np.log(2)],
                               rtol=4e-16, atol=1e-300)


def test_posterior_block_gives_weighted_responsibilities():
    rng = np.random.default_rng(0)
    log_joint = rng.normal(scale=40, size=(5, 300))
    weights = rng.uniform(0, 2, 300)
    block = log_joint.copy()
    buffers = [np.empty(300) for _ in range(2)]
    loglik, classification = posterior_block(block, 300, weights, 0, *buffers)
    norm = logsumexp(log_joint, axis=0)
    np.testing.assert_allclose(block, np.exp(log_joint - norm) * weights, rtol=1e-13)
    assert loglik == pytest.approx(np.dot(weights, norm), rel=1e-14)
    best = (log_joint - norm).max(axis=0)
    assert classification == pytest.approx(-np.dot(weights, best), rel=1e-12)
