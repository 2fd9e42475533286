"""Mixture E-steps for count and categorical data, fused with their sufficient statistics.

Poisson:      log p(x | k) = sum_d x_d log l_kd - l_kd - log x_d!      stats N_k, sum r x
Categorical:  log p(x | k) = sum_l log theta_k,l,x_l (x_l < 0: missing) stats N_k, counts
Multinomial:  log p(x | k) = sum_j x_j log p_kj (+ a term free of k)   stats N_k, sum r x
(CSR rows).  Like the Gaussian pass, rows go in fixed chunks summed in chunk order.
"""

import math

import numpy as np
from numba import prange

from ._jit import REDUCE_FLAGS, kernel
from .chunks import n_chunks, sum_chunk_pair
from .logspace import posterior_block

BLOCK = 256


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def poisson_mixture_pass(X, sample_weight, log_weights, rates, chunk_rows):
    """(N_k, sum_n r_nk x_n, log-likelihood) for independent Poisson components."""
    n_rows, n_features = X.shape
    n_components = rates.shape[0]
    log_rates = np.log(rates)
    const = log_weights.copy()
    for k in range(n_components):
        for d in range(n_features):
            const[k] -= rates[k, d]
    count = n_chunks(n_rows, chunk_rows)
    nk_c = np.zeros((count, n_components))
    sx_c = np.zeros((count, n_components, n_features))
    ll_c = np.zeros(count)
    for c in prange(count):
        lp = np.empty((n_components, BLOCK))
        top = np.empty(BLOCK)
        norm = np.empty(BLOCK)
        scratch = np.empty(BLOCK)
        factorials = np.empty(BLOCK)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK):
            nb = min(BLOCK, stop - start)
            for b in range(nb):
                total = 0.0
                for d in range(n_features):
                    total += math.lgamma(X[start + b, d] + 1.0)
                factorials[b] = total
            for k in range(n_components):
                for b in range(nb):
                    total = const[k] - factorials[b]
                    for d in range(n_features):
                        x = X[start + b, d]
                        if x != 0:
                            total += x * log_rates[k, d]
                    lp[k, b] = total
            ll_c[c] += posterior_block(lp, nb, sample_weight, start, top, norm, scratch)
            for k in range(n_components):
                for b in range(nb):
                    r = lp[k, b]
                    nk_c[c, k] += r
                    for d in range(n_features):
                        sx_c[c, k, d] += r * X[start + b, d]
    return sum_chunk_pair(nk_c, sx_c, ll_c)


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def categorical_mixture_pass(codes, sample_weight, log_weights, log_probs, chunk_rows):
    """(N_k, counts[k, l, c] = sum_n r_nk [x_nl = c], log-likelihood); codes < 0 are missing.

    log_probs has shape (K, L, C) with C the largest number of categories.
    """
    n_rows, n_features = codes.shape
    n_components, _, n_categories = log_probs.shape
    count = n_chunks(n_rows, chunk_rows)
    nk_c = np.zeros((count, n_components))
    counts_c = np.zeros((count, n_components, n_features, n_categories))
    ll_c = np.zeros(count)
    for c in prange(count):
        lp = np.empty((n_components, BLOCK))
        top = np.empty(BLOCK)
        norm = np.empty(BLOCK)
        scratch = np.empty(BLOCK)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK):
            nb = min(BLOCK, stop - start)
            for k in range(n_components):
                for b in range(nb):
                    total = log_weights[k]
                    for l in range(n_features):
                        code = codes[start + b, l]
                        if code >= 0:
                            total += log_probs[k, l, code]
                    lp[k, b] = total
            ll_c[c] += posterior_block(lp, nb, sample_weight, start, top, norm, scratch)
            for k in range(n_components):
                for b in range(nb):
                    r = lp[k, b]
                    nk_c[c, k] += r
                    for l in range(n_features):
                        code = codes[start + b, l]
                        if code >= 0:
                            counts_c[c, k, l, code] += r
    return sum_chunk_pair(nk_c, counts_c, ll_c)


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def multinomial_mixture_pass(indptr, indices, values, sample_weight, log_weights, log_probs,
                             chunk_rows):
    """(N_k, sum_n r_nk x_n, log-likelihood without the multinomial coefficient) for
    CSR rows (indptr, indices, values) over log_probs (K, V)."""
    n_rows = indptr.shape[0] - 1
    n_components, n_columns = log_probs.shape
    count = n_chunks(n_rows, chunk_rows)
    nk_c = np.zeros((count, n_components))
    sx_c = np.zeros((count, n_components, n_columns))
    ll_c = np.zeros(count)
    for c in prange(count):
        lp = np.empty((n_components, BLOCK))
        top = np.empty(BLOCK)
        norm = np.empty(BLOCK)
        scratch = np.empty(BLOCK)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK):
            nb = min(BLOCK, stop - start)
            for k in range(n_components):
                for b in range(nb):
                    total = log_weights[k]
                    for p in range(indptr[start + b], indptr[start + b + 1]):
                        total += values[p] * log_probs[k, indices[p]]
                    lp[k, b] = total
            ll_c[c] += posterior_block(lp, nb, sample_weight, start, top, norm, scratch)
            for k in range(n_components):
                for b in range(nb):
                    r = lp[k, b]
                    nk_c[c, k] += r
                    for p in range(indptr[start + b], indptr[start + b + 1]):
                        sx_c[c, k, indices[p]] += r * values[p]
    return sum_chunk_pair(nk_c, sx_c, ll_c)
