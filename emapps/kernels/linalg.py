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
