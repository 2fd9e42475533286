"""The factor analysis E-step with missing values (Rubin & Thayer 1982), fused with its
sufficient statistics.

x_n = mu + L z_n + e_n, z_n ~ N(0, I_q), e_n ~ N(0, diag(psi)); NaN entries are missing.
Given the observed entries O of row n, z_n's posterior has precision
P = I + sum_{d in O} l_d l_d^T / psi_d and mean m = P^-1 sum_{d in O} l_d (x_d - mu_d) / psi_d,
and log p(x_O) = -1/2 (|O| log 2 pi + sum log psi_d + log|P| + sum (x_d - mu_d)^2 / psi_d
- m^T P m) (Woodbury).  With the augmented z~ = (1, z) the M-step of each column d
regresses x_d on E[z~] over the rows that observed it, so the E-step adds, per observed
cell, E[z~ z~^T] ((q + 1)^2 values), x_d E[z~] and x_d^2.
``factor_analysis_chunk`` covers rows [start, stop); passes run over fixed chunks on
threads and add in chunk order (see parallel.py), so any thread count gives the same bits.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .linalg import cholesky_in_place, cholesky_inverse, cholesky_solve
from .parallel import CHUNK_ROWS, map_add, map_chunks

LOG_2PI = math.log(2.0 * math.pi)


@kernel(fastmath=REDUCE_FLAGS)
def _row_posterior(X, n, mean, loadings, noise, precision, rhs, posterior_mean):
    """Fill precision with the Cholesky factor of row n's posterior precision and
    posterior_mean with its mean; return log p(x_O)."""
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
def factor_analysis_chunk(X, start, stop, sample_weight, mean, loadings, noise):
    """(E[z~ z~^T] sums (D, q+1, q+1), x_d E[z~] sums (D, q+1), x_d^2 sums (D,), weight of
    the rows observing d (D,), log-likelihood) of rows [start, stop)."""
    n_features, q = loadings.shape
    second = np.zeros((n_features, q + 1, q + 1))
    cross = np.zeros((n_features, q + 1))
    squares = np.zeros(n_features)
    observed = np.zeros(n_features)
    precision = np.empty((q, q))
    covariance = np.empty((q, q))
    rhs = np.empty(q)
    posterior_mean = np.empty(q)
    moment = np.empty((q + 1, q + 1))
    loglik = 0.0
    weighted = sample_weight.shape[0] > 0
    for n in range(start, stop):
        w = sample_weight[n] if weighted else 1.0
        loglik += w * _row_posterior(X, n, mean, loadings, noise, precision, rhs,
                                     posterior_mean)
        cholesky_inverse(precision, covariance)
        moment[0, 0] = 1.0
        for a in range(q):
            moment[0, a + 1] = posterior_mean[a]
            moment[a + 1, 0] = posterior_mean[a]
            for b in range(q):
                moment[a + 1, b + 1] = covariance[a, b] + posterior_mean[a] * posterior_mean[b]
        for d in range(n_features):
            x = X[n, d]
            if math.isnan(x):
                continue
            observed[d] += w
            squares[d] += w * x * x
            for a in range(q + 1):
                cross[d, a] += w * x * moment[a, 0]
                for b in range(q + 1):
                    second[d, a, b] += w * moment[a, b]
    return second, cross, squares, observed, loglik


def factor_analysis_pass(X, sample_weight, mean, loadings, noise, chunk_rows=CHUNK_ROWS):
    """The statistics of :func:`factor_analysis_chunk` over all rows."""
    return map_add(lambda start, stop: factor_analysis_chunk(
        X, start, stop, sample_weight, mean, loadings, noise), X.shape[0], chunk_rows)


@kernel(fastmath=REDUCE_FLAGS)
def factor_posterior_chunk(X, start, stop, mean, loadings, noise):
    """(E[z | x_O] (rows, q), log p(x_O) (rows,)) of rows [start, stop)."""
    n_features, q = loadings.shape
    means = np.empty((stop - start, q))
    log_density = np.empty(stop - start)
    precision = np.empty((q, q))
    rhs = np.empty(q)
    posterior_mean = np.empty(q)
    for n in range(start, stop):
        log_density[n - start] = _row_posterior(X, n, mean, loadings, noise, precision, rhs,
                                                posterior_mean)
        for a in range(q):
            means[n - start, a] = posterior_mean[a]
    return means, log_density


def factor_posteriors(X, mean, loadings, noise, chunk_rows=CHUNK_ROWS):
    """(E[z | x_O] as (N, q), log p(x_O) as (N,)) of every row."""
    parts = map_chunks(lambda start, stop: factor_posterior_chunk(
        X, start, stop, mean, loadings, noise), X.shape[0], chunk_rows)
    return (np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]))
