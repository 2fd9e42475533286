"""Mixture E-steps for count and categorical data, fused with their sufficient statistics.

Poisson:      log p(x | k) = sum_d x_d log l_kd - l_kd - log x_d!      stats N_k, sum r x
Categorical:  log p(x | k) = sum_l log theta_k,l,x_l (x_l < 0: missing) stats N_k, counts
Multinomial:  log p(x | k) = sum_j x_j log p_kj (+ a term free of k)   stats N_k, sum r x
(CSR rows).  ``*_chunk`` kernels cover rows [start, stop); the drivers run them over
fixed chunks on threads and add the results in chunk order (see parallel.py).
"""

import math

import numpy as np
from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK, posterior_block, posterior_buffers, softmax_inplace
from .parallel import CHUNK_ROWS, map_add



@kernel(fastmath=REDUCE_FLAGS)
def poisson_mixture_chunk(X, start, stop, sample_weight, log_weights, rates):
    """(N_k, sum_n r_nk x_n, log-likelihood) of rows [start, stop), independent Poissons."""
    n_features = X.shape[1]
    n_components = rates.shape[0]
    log_rates = np.log(rates)
    const = log_weights.copy()
    for k in range(n_components):
        for d in range(n_features):
            const[k] -= rates[k, d]
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    loglik = 0.0
    lp, top, norm = posterior_buffers(n_components)
    factorials = np.empty(BLOCK)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        for b in range(nb):
            total = 0.0
            for d in range(n_features):
                total += math.lgamma(X[first + b, d] + 1.0)
            factorials[b] = total
        for k in range(n_components):
            for b in range(nb):
                total = const[k] - factorials[b]
                for d in range(n_features):
                    x = X[first + b, d]
                    if x != 0:
                        total += x * log_rates[k, d]
                lp[k, b] = total
        loglik += posterior_block(lp, nb, sample_weight, first, top, norm)[0]
        for k in range(n_components):
            for b in range(nb):
                r = lp[k, b]
                nk[k] += r
                for d in range(n_features):
                    sx[k, d] += r * X[first + b, d]
    return nk, sx, loglik


@kernel(fastmath=REDUCE_FLAGS)
def categorical_mixture_chunk(codes, start, stop, sample_weight, log_weights, log_probs):
    """(N_k, counts[k, l, c] = sum_n r_nk [x_nl = c], log-likelihood) of rows [start, stop);
    codes < 0 are missing.  log_probs is (K, L, C), C the largest number of categories."""
    n_features = codes.shape[1]
    n_components, _, n_categories = log_probs.shape
    nk = np.zeros(n_components)
    counts = np.zeros((n_components, n_features, n_categories))
    loglik = 0.0
    lp, top, norm = posterior_buffers(n_components)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        for k in range(n_components):
            for b in range(nb):
                total = log_weights[k]
                for l in range(n_features):
                    code = codes[first + b, l]
                    if code >= 0:
                        total += log_probs[k, l, code]
                lp[k, b] = total
        loglik += posterior_block(lp, nb, sample_weight, first, top, norm)[0]
        for k in range(n_components):
            for b in range(nb):
                r = lp[k, b]
                nk[k] += r
                for l in range(n_features):
                    code = codes[first + b, l]
                    if code >= 0:
                        counts[k, l, code] += r
    return nk, counts, loglik


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


def poisson_mixture_pass(X, sample_weight, log_weights, rates, chunk_rows=CHUNK_ROWS):
    """(N_k, sum_n r_nk x_n, log-likelihood) of all rows of X."""
    return map_add(lambda start, stop: poisson_mixture_chunk(
        X, start, stop, sample_weight, log_weights, rates), X.shape[0], chunk_rows)


def categorical_mixture_pass(codes, sample_weight, log_weights, log_probs, chunk_rows=CHUNK_ROWS):
    """(N_k, category counts, log-likelihood) of all rows of codes."""
    return map_add(lambda start, stop: categorical_mixture_chunk(
        codes, start, stop, sample_weight, log_weights, log_probs), codes.shape[0], chunk_rows)


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
