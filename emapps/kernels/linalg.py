"""Small dense linear algebra for stacks of covariances.

Done here rather than through LAPACK because the matrices are tiny and OpenBLAS's
thread pool, woken between numba parallel passes, stalls both (ms per call).
"""

import math

import numpy as np

from ._jit import kernel


@kernel()
def precision_cholesky_stack(covariances):
    """Upper-triangular P_k with P_k P_k^T = Sigma_k^-1, i.e. P_k = (chol(Sigma_k)^-1)^T.

    Returns (P, k) where k is the first component that is not positive definite
    (-1 when all are).
    """
    n_components, n_features = covariances.shape[0], covariances.shape[1]
    out = np.zeros_like(covariances)
    chol = np.zeros((n_features, n_features))
    for k in range(n_components):
        cov = covariances[k]
        for j in range(n_features):
            total = cov[j, j]
            for m in range(j):
                total -= chol[j, m] * chol[j, m]
            if not total > 0.0 or not math.isfinite(total):
                return out, k
            chol[j, j] = math.sqrt(total)
            for i in range(j + 1, n_features):
                value = cov[i, j]
                for m in range(j):
                    value -= chol[i, m] * chol[j, m]
                chol[i, j] = value / chol[j, j]
        # inverse of the lower factor by forward substitution, stored transposed (upper)
        for col in range(n_features):
            out[k, col, col] = 1.0 / chol[col, col]
            for i in range(col + 1, n_features):
                value = 0.0
                for m in range(col, i):
                    value -= chol[i, m] * out[k, col, m]
                out[k, col, i] = value / chol[i, i]
    return out, -1


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


@kernel()
def cholesky_inverse(factor, out):
    """out = A^-1 from A's lower Cholesky factor, column by column."""
    size = factor.shape[0]
    unit = np.zeros(size)
    for column in range(size):
        unit[column] = 1.0
        cholesky_solve(factor, unit, out[:, column])
        unit[column] = 0.0
