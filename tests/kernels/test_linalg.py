"""Small dense linear algebra against numpy: Cholesky factor, solve, inverse, packed
systems."""

import numpy as np
import pytest

from emapps.kernels.linalg import (cholesky_in_place, cholesky_inverse, cholesky_solve,
                                   solve_packed, unpack_lower)

from ..conftest import random_spd


@pytest.mark.parametrize("size", [1, 2, 5, 17])
def test_cholesky_factor_solve_and_inverse_match_numpy(size):
    rng = np.random.default_rng(size)
    matrix = random_spd(rng, 1, size)[0]
    factor = matrix.copy()
    log_det = cholesky_in_place(factor)
    np.testing.assert_allclose(np.tril(factor), np.linalg.cholesky(matrix), rtol=1e-12)
    assert log_det == pytest.approx(np.linalg.slogdet(matrix)[1], rel=1e-12)
    rhs = rng.normal(size=size)
    solution = np.empty(size)
    cholesky_solve(factor, rhs, solution)
    np.testing.assert_allclose(solution, np.linalg.solve(matrix, rhs), rtol=1e-10)
    inverse = np.empty((size, size))
    cholesky_inverse(factor, inverse)
    np.testing.assert_allclose(inverse, np.linalg.inv(matrix), rtol=1e-10, atol=1e-14)


def test_packed_systems_match_numpy_and_report_the_first_indefinite_row(threads):
    rng = np.random.default_rng(3)
    n_rows, size = 600, 4
    lower = np.tril_indices(size)
    semi = rng.normal(size=(n_rows, size, 2))
    packed = (semi @ semi.transpose(0, 2, 1))[:, lower[0], lower[1]]
    shared = random_spd(rng, 1, size)[0]
    rhs = rng.normal(size=(n_rows, size))
    want = np.linalg.solve(unpack_lower(packed, size) + shared, rhs[:, :, None])[:, :, 0]
    for n_threads in (1, 2):
        threads(n_threads)
        solutions, failed = solve_packed(packed, shared, rhs)
        assert failed == -1
        np.testing.assert_allclose(solutions, want, rtol=1e-10)
    broken = packed.copy()
    broken[[300, 500], 0] = -1e6
    assert solve_packed(broken, shared, rhs)[1] == 300
