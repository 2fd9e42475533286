"""Potts mean-field / ICM kernels against the numpy twins in reference.py."""

import numpy as np
import pytest

from emapps.kernels.potts import neighbour_sums, potts_pairs, potts_pseudo_loglik, potts_sweep

from . import reference


def random_field(seed, shape=(7, 9), n_labels=3):
    rng = np.random.default_rng(seed)
    n = shape[0] * shape[1]
    log_unary = rng.normal(scale=2.0, size=(n, n_labels))
    q = rng.dirichlet(np.ones(n_labels), size=n)
    return log_unary, q


@pytest.mark.parametrize("eight", [False, True])
@pytest.mark.parametrize("hard", [False, True])
def test_sweep_matches_site_by_site_update(eight, hard):
    log_unary, q = random_field(1)
    expected = reference.potts_sweep(log_unary, q, (7, 9), 0.8, eight, hard)
    unary, entropy = potts_sweep(log_unary, q, (7, 9), 0.8, eight, hard)
    np.testing.assert_allclose(q, expected, rtol=1e-12, atol=1e-14)
    assert unary == pytest.approx(float((expected * log_unary).sum()), rel=1e-12)
    J = unary + entropy + 0.8 * potts_pairs(q, (7, 9), eight)
    assert J == pytest.approx(reference.potts_objective(log_unary, expected, (7, 9), 0.8, eight),
                              rel=1e-12)


@pytest.mark.parametrize("eight", [False, True])
def test_pairs_and_pseudo_likelihood_match_reference(eight):
    log_unary, q = random_field(2)
    pairs_only = reference.potts_objective(np.zeros_like(log_unary), q, (7, 9), 1.0, eight)
    entropy = reference.potts_objective(np.zeros_like(log_unary), q, (7, 9), 0.0, eight)
    assert potts_pairs(q, (7, 9), eight) == pytest.approx(pairs_only - entropy, rel=1e-12)
    log_prior = np.log([0.2, 0.5, 0.3])
    nbr = neighbour_sums(q, (7, 9), eight)
    neighbours = reference.grid_neighbours(7, 9, eight)
    np.testing.assert_allclose(nbr, [q[neighbours[i]].sum(axis=0) for i in range(63)])
    value, grad, hess = potts_pseudo_loglik(log_prior, q, nbr, 0.7)
    twin = lambda beta: reference.potts_pseudo_loglik(log_prior, q, (7, 9), beta, eight)
    assert value == pytest.approx(twin(0.7), rel=1e-12)
    h = 1e-4
    assert grad == pytest.approx((twin(0.7 + h) - twin(0.7 - h)) / (2 * h), rel=1e-6)
    assert hess == pytest.approx((twin(0.7 + h) - 2 * twin(0.7) + twin(0.7 - h)) / h**2,
                                 rel=1e-4)
    assert hess < 0


@pytest.mark.parametrize("hard", [False, True])
def test_sweeps_never_lower_the_objective(hard):
    log_unary, q = random_field(3, shape=(20, 15), n_labels=4)
    if hard:
        q = np.eye(4)[q.argmax(axis=1)]
    values = []
    for _ in range(6):
        unary, entropy = potts_sweep(log_unary, q, (20, 15), 1.5, False, hard)
        values.append(unary + entropy + 1.5 * potts_pairs(q, (20, 15)))
    assert np.all(np.diff(values) >= -1e-9)


def test_one_and_two_threads_give_identical_bits(threads):
    from emapps.kernels import parallel

    shape = (3 * parallel.CHUNK_ROWS // 64 + 5, 64)  # several row blocks
    log_unary, q0 = random_field(4, shape=shape, n_labels=3)
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        q = q0.copy()
        parts = potts_sweep(log_unary, q, shape, 1.1, True, False)
        results.append((q, parts, potts_pairs(q, shape, True),
                        potts_pseudo_loglik(np.log(np.ones(3) / 3), q,
                                            neighbour_sums(q, shape, True), 1.1)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]


def test_single_pixel_and_single_row_grids():
    log_unary = np.array([[0.0, 2.0]])
    q = np.array([[0.5, 0.5]])
    potts_sweep(log_unary, q, (1, 1), 3.0)
    np.testing.assert_allclose(q, [[1 / (1 + np.e**2), np.e**2 / (1 + np.e**2)]])
    log_unary, q = random_field(5, shape=(1, 12))
    expected = reference.potts_sweep(log_unary, q, (1, 12), 0.5, False, False)
    potts_sweep(log_unary, q, (1, 12), 0.5)
    np.testing.assert_allclose(q, expected, rtol=1e-12)
