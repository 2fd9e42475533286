"""The multinomial mixture E-step over CSR count rows, fused with its sufficient
statistics: log p(x | k) = sum_j x_j log p_kj (+ a term free of k); stats N_k, sum r x.
``multinomial_mixture_chunk`` covers rows [start, stop); the driver runs it over fixed
chunks on threads and adds the results in chunk order (see parallel.py).
"""

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK, posterior_block, posterior_buffers, softmax_inplace
from .parallel import CHUNK_ROWS, map_add


@kernel(fastmath=REDUCE_FLAGS)
def multinomial_mixture_chunk(indptr, indices, values, start, stop, sample_weight,
                              log_weights, log_probs):
    """(N_k, sum_n r_nk x_n, log-likelihood without the multinomial coefficient) of CSR
    rows [start, stop) (indptr, indices, values) over log_probs (K, V)."""
    n_components, n_columns = log_probs.shape
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_columns))
    loglik = 0.0
    lp, top, norm = posterior_buffers(n_components)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        for k in range(n_components):
            for b in range(nb):
                total = log_weights[k]
                for p in range(indptr[first + b], indptr[first + b + 1]):
                    total += values[p] * log_probs[k, indices[p]]
                lp[k, b] = total
        loglik += posterior_block(lp, nb, sample_weight, first, top, norm)[0]
        for k in range(n_components):
            for b in range(nb):
                r = lp[k, b]
                nk[k] += r
                for p in range(indptr[first + b], indptr[first + b + 1]):
                    sx[k, indices[p]] += r * values[p]
    return nk, sx, loglik


def multinomial_mixture_pass(indptr, indices, values, sample_weight, log_weights, log_probs,
                             chunk_rows=CHUNK_ROWS):
    """(N_k, sum_n r_nk x_n, log-likelihood) of all CSR rows."""
    return map_add(lambda start, stop: multinomial_mixture_chunk(
        indptr, indices, values, start, stop, sample_weight, log_weights, log_probs),
        indptr.shape[0] - 1, chunk_rows)


@kernel(fastmath=REDUCE_FLAGS)
def multinomial_responsibilities(indptr, indices, values, log_weights, log_probs):
    """p(k | x_n) for every CSR row under a multinomial mixture: (N, K)."""
    n_rows = indptr.shape[0] - 1
    n_components = log_probs.shape[0]
    resp = np.empty((n_rows, n_components))
    for n in range(n_rows):
        for k in range(n_components):
            total = log_weights[k]
            for p in range(indptr[n], indptr[n + 1]):
                total += values[p] * log_probs[k, indices[p]]
            resp[n, k] = total
        softmax_inplace(resp[n], n_components)
    return resp
