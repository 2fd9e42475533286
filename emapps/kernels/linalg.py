"""Small dense linear algebra for the many tiny systems solved inside kernels (the
recommenders' per-user and per-item normal equations).

Done here rather than through LAPACK because the systems are tiny and numerous: a LAPACK
call each would cost more than the solve, and OpenBLAS's thread pool, woken between
numba parallel passes, stalls both (ms per call).
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .parallel import map_chunks

#: systems per chunk of solve_packed (fixed, so results do not depend on threads)
SOLVE_CHUNK = 256


@kernel()
def cholesky_in_place(matrix):
    """Overwrite the lower triangle of a positive-definite matrix with its Cholesky factor
    L (A = L L^T); return log|A| = 2 sum log L_jj."""
    size = matrix.shape[0]
    log_det = 0.0
    for j in range(size):
        total = matrix[j, j]
        for k in range(j):
            total -= matrix[j, k] * matrix[j, k]
        diagonal = math.sqrt(total)
        matrix[j, j] = diagonal
        log_det += 2.0 * math.log(diagonal)
        for i in range(j + 1, size):
            total = matrix[i, j]
            for k in range(j):
                total -= matrix[i, k] * matrix[j, k]
            matrix[i, j] = total / diagonal
    return log_det


@kernel()
def cholesky_solve(factor, rhs, out):
    """out = A^-1 rhs from A's lower Cholesky factor (forward, then back substitution)."""
    size = factor.shape[0]
    for i in range(size):
        total = rhs[i]
        for k in range(i):
            total -= factor[i, k] * out[k]
        out[i] = total / factor[i, i]
    for i in range(size - 1, -1, -1):
        total = out[i]
        for k in range(i + 1, size):
            total -= factor[k, i] * out[k]
        out[i] = total / factor[i, i]


@kernel(fastmath=REDUCE_FLAGS)
def cholesky_inverse(factor, out):
    """out = A^-1 = L^-T L^-1 from A's lower Cholesky factor L, with T = L^-1 held
    transposed in out's upper triangle so every dot product runs along rows."""
    size = factor.shape[0]
    for j in range(size):  # row j of out = column j of T, by forward substitution
        out[j, j] = 1.0 / factor[j, j]
        for i in range(j + 1, size):
            total = 0.0
            for k in range(j, i):
                total += factor[i, k] * out[j, k]
            out[j, i] = -total / factor[i, i]
    for i in range(size):  # (A^-1)_ij = sum_{k >= i} T_ki T_kj for j < i, into the lower part
        for j in range(i):
            total = 0.0
            for k in range(i, size):
                total += out[i, k] * out[j, k]
            out[i, j] = total
    for i in range(size):  # diagonal, then mirror row i's lower part into column i
        total = 0.0
        for k in range(i, size):
            total += out[i, k] * out[i, k]
        out[i, i] = total
        for j in range(i):
            out[j, i] = out[i, j]


@kernel(fastmath=REDUCE_FLAGS)
def solve_packed_systems(packed, shared, rhs, start, stop, out):
    """out[i] = (S_i + shared)^-1 rhs[i] for rows [start, stop), S_i symmetric positive
    semi-definite given as its packed lower triangle (row by row) and shared positive
    definite.  Returns the first row whose system is not positive definite, or -1."""
    size = shared.shape[0]
    system = np.empty((size, size))
    for i in range(start, stop):
        t = 0
        for d in range(size):
            for e in range(d + 1):
                system[d, e] = packed[i, t] + shared[d, e]
                t += 1
        if not math.isfinite(cholesky_in_place(system)):
            return i
        cholesky_solve(system, rhs[i], out[i])
    return -1


def solve_packed(packed, shared, rhs):
    """Rows (S_i + shared)^-1 rhs_i over fixed chunks of rows (see solve_packed_systems);
    returns (solutions, first row that is not positive definite or -1)."""
    out = np.empty_like(rhs)
    failures = [row for row in map_chunks(lambda start, stop: solve_packed_systems(
        packed, shared, rhs, start, stop, out), rhs.shape[0], SOLVE_CHUNK) if row >= 0]
    return out, (failures[0] if failures else -1)


def unpack_lower(packed, size):
    """(n, size, size) symmetric matrices from rows of packed lower triangles."""
    rows, columns = np.tril_indices(size)
    full = np.zeros((packed.shape[0], size, size))
    full[:, rows, columns] = packed
    full[:, columns, rows] = packed
    return full
