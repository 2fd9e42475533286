import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from emapps.kernels.hmm import hmm_forward_backward
from tests.kernels import reference


def random_hmm(rng, n_states):
    start = rng.dirichlet(np.ones(n_states))
    trans = rng.dirichlet(np.ones(n_states), size=n_states)
    return start, trans


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 6), st.lists(st.integers(0, 40), min_size=1, max_size=4),
       st.integers(0, 2**16))
def test_matches_log_space_twin(n_states, lengths, seed):
    rng = np.random.default_rng(seed)
    start, trans = random_hmm(rng, n_states)
    log_emit = rng.normal(scale=30, size=(sum(lengths), n_states))  # far below exp's range
    gamma, xi, first, loglik = hmm_forward_backward(start, trans, log_emit,
                                                    np.array(lengths, dtype=np.int64))
    offset, total, xi_total, first_total = 0, 0.0, np.zeros((n_states, n_states)), np.zeros(n_states)
    for length in lengths:
        if length:
            g, x, ll = reference.hmm_log_space(start, trans, log_emit[offset:offset + length])
            np.testing.assert_allclose(gamma[offset:offset + length], g, rtol=1e-8, atol=1e-12)
            total += ll
            xi_total += x
            first_total += g[0]
        offset += length
    assert loglik == pytest.approx(total, rel=1e-11)
    np.testing.assert_allclose(xi, xi_total, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(first, first_total, rtol=1e-8, atol=1e-12)


def test_hmm_whose_rows_repeat_the_start_is_a_mixture():
    """Transitions that ignore the previous state make every step an independent mixture."""
    rng = np.random.default_rng(1)
    weights = rng.dirichlet(np.ones(4))
    trans = np.tile(weights, (4, 1))
    log_emit = rng.normal(size=(200, 4))
    gamma, _, _, loglik = hmm_forward_backward(weights, trans, log_emit, np.array([200]))
    log_joint = np.log(weights) + log_emit
    np.testing.assert_allclose(gamma, np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None]),
                               rtol=1e-10)
    assert loglik == pytest.approx(logsumexp(log_joint, axis=1).sum(), rel=1e-12)


def test_identical_at_one_and_two_threads(threads):
    rng = np.random.default_rng(2)
    start, trans = random_hmm(rng, 5)
    lengths = rng.integers(1, 300, size=64)
    log_emit = rng.normal(size=(lengths.sum(), 5))
    threads(1)
    one = hmm_forward_backward(start, trans, log_emit, lengths)
    threads(2)
    two = hmm_forward_backward(start, trans, log_emit, lengths)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
