"""The E-step of a mixture of factor analysers with missing values (Ghahramani & Hinton
1996; Rubin & Thayer 1982 for one analyser), fused with its sufficient statistics.

Component k: x = mu_k + L_k z + e, z ~ N(0, I_q), e ~ N(0, diag(psi_k)); NaN entries are
missing.  Given the observed entries O of row n, z's posterior under k has precision
P = I + sum_{d in O} l_kd l_kd^T / psi_kd and mean m = P^-1 sum_{d in O} l_kd (x_d - mu_kd) / psi_kd,
and log p(x_O | k) = -1/2 (|O| log 2 pi + sum log psi_kd + log|P| + sum (x_d - mu_kd)^2 / psi_kd
- m^T P m) (Woodbury).  With the augmented z~ = (1, z) the M-step of each (k, d)
regresses x_d on E[z~] over the rows that observed it, weighted by the responsibilities,
so the E-step adds r_nk E[z~ z~^T | k] ((q + 1)^2 values), r_nk x_d E[z~ | k] and
r_nk x_d^2 per observed cell.  One analyser (K = 1) is factor analysis.
``factor_mixture_chunk`` covers rows [start, stop); passes run over fixed chunks on
threads and add in chunk order (see parallel.py), so any thread count gives the same bits.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .linalg import cholesky_in_place, cholesky_inverse, cholesky_solve
from .logspace import softmax_inplace
from .parallel import CHUNK_ROWS, map_add, map_chunks

LOG_2PI = math.log(2.0 * math.pi)


@kernel(fastmath=REDUCE_FLAGS)
def _row_posterior(X, n, mean, loadings, noise, precision, rhs, posterior_mean):
    """Fill precision with the Cholesky factor of row n's posterior precision under one
    analyser (mean (D,), loadings (D, q), noise (D,)) and posterior_mean with its mean;
    return log p(x_O)."""
    n_features, q = loadings.shape
    for a in range(q):
        rhs[a] = 0.0
        for b in range(q):
            precision[a, b] = 1.0 if a == b else 0.0
    constant = 0.0
    squares = 0.0
    for d in range(n_features):
        x = X[n, d]
        if math.isnan(x):
            continue
        inverse = 1.0 / noise[d]
        centred = x - mean[d]
        constant += LOG_2PI + math.log(noise[d])
        squares += centred * centred * inverse
        for a in range(q):
            scaled = loadings[d, a] * inverse
            rhs[a] += scaled * centred
            for b in range(a + 1):
                precision[a, b] += scaled * loadings[d, b]
    log_det = cholesky_in_place(precision)
    cholesky_solve(precision, rhs, posterior_mean)
    explained = 0.0
    for a in range(q):
        explained += rhs[a] * posterior_mean[a]
    return -0.5 * (constant + log_det + squares - explained)


@kernel(fastmath=REDUCE_FLAGS)
def factor_mixture_chunk(X, start, stop, sample_weight, log_weights, means, loadings, noise):
    """(N_k (K,), r E[z~ z~^T] sums (K, D, q+1, q+1), r x_d E[z~] sums (K, D, q+1),
    r x_d^2 sums (K, D), r over the rows observing d (K, D), log-likelihood) of rows
    [start, stop); means (K, D), loadings (K, D, q), noise (K, D)."""
    n_components, n_features, q = loadings.shape
    nk = np.zeros(n_components)
    second = np.zeros((n_components, n_features, q + 1, q + 1))
    cross = np.zeros((n_components, n_features, q + 1))
    squares = np.zeros((n_components, n_features))
    observed = np.zeros((n_components, n_features))
    covariance = np.empty((q, q))
    rhs = np.empty(q)
    component_means = np.empty((n_components, q))
    component_precisions = np.empty((n_components, q, q))
    resp = np.empty(n_components)
    moment = np.empty((q + 1, q + 1))
    loglik = 0.0
    weighted = sample_weight.shape[0] > 0
    for n in range(start, stop):
        w = sample_weight[n] if weighted else 1.0
        for k in range(n_components):
            resp[k] = log_weights[k] + _row_posterior(
                X, n, means[k], loadings[k], noise[k], component_precisions[k], rhs,
                component_means[k])
        loglik += w * softmax_inplace(resp, n_components)
        for k in range(n_components):
            r = w * resp[k]
            nk[k] += r
            cholesky_inverse(component_precisions[k], covariance)
            moment[0, 0] = 1.0
            for a in range(q):
                moment[0, a + 1] = component_means[k, a]
                moment[a + 1, 0] = component_means[k, a]
                for b in range(q):
                    moment[a + 1, b + 1] = (covariance[a, b]
                                            + component_means[k, a] * component_means[k, b])
            for d in range(n_features):
                x = X[n, d]
                if math.isnan(x):
                    continue
                observed[k, d] += r
                squares[k, d] += r * x * x
                for a in range(q + 1):
                    cross[k, d, a] += r * x * moment[a, 0]
                    for b in range(q + 1):
                        second[k, d, a, b] += r * moment[a, b]
    return nk, second, cross, squares, observed, loglik


def factor_mixture_pass(X, sample_weight, log_weights, means, loadings, noise,
                        chunk_rows=CHUNK_ROWS):
    """The statistics of :func:`factor_mixture_chunk` over all rows."""
    return map_add(lambda start, stop: factor_mixture_chunk(
        X, start, stop, sample_weight, log_weights, means, loadings, noise), X.shape[0],
        chunk_rows)


@kernel(fastmath=REDUCE_FLAGS)
def factor_posterior_chunk(X, start, stop, log_weights, means, loadings, noise):
    """(p(k | x_O) (rows, K), E[z | x_O] (rows, q) under the most likely analyser, log
    p(x_O) (rows,)) of rows [start, stop)."""
    n_components, n_features, q = loadings.shape
    resp = np.empty((stop - start, n_components))
    factors = np.empty((stop - start, q))
    log_density = np.empty(stop - start)
    precision = np.empty((q, q))
    rhs = np.empty(q)
    component_means = np.empty((n_components, q))
    for n in range(start, stop):
        row = resp[n - start]
        for k in range(n_components):
            row[k] = log_weights[k] + _row_posterior(X, n, means[k], loadings[k], noise[k],
                                                     precision, rhs, component_means[k])
        log_density[n - start] = softmax_inplace(row, n_components)
        best = 0
        for k in range(1, n_components):
            if row[k] > row[best]:
                best = k
        for a in range(q):
            factors[n - start, a] = component_means[best, a]
    return resp, factors, log_density


def factor_posteriors(X, log_weights, means, loadings, noise, chunk_rows=CHUNK_ROWS):
    """(p(k | x_O) as (N, K), E[z | x_O] under the most likely analyser as (N, q),
    log p(x_O) as (N,)) of every row."""
    parts = map_chunks(lambda start, stop: factor_posterior_chunk(
        X, start, stop, log_weights, means, loadings, noise), X.shape[0], chunk_rows)
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))
