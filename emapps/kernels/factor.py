"""Factor analysis with missing entries (probabilistic PCA for ratings, Canny 2002).

User u's observed ratings y_ui = r_ui - mu are modelled as y_ui = b_i + c_u + w_i^T z_u
+ e, e ~ N(0, s2), with latent x_u = (c_u, z_u) ~ N(0, diag(t2, 1, ..., 1)).  Given the
item parameters, the posterior of x_u is Gaussian with precision
P_u = Lambda0^-1 + sum_i a_i a_i^T / s2 (a_i = (1, w_i)) and mean P_u^-1 sum_i a_i
(y_ui - b_i) / s2.  The E-step adds, per rated item, E[x~ x~^T] and y E[x~] for the
augmented x~ = (1, c_u, z_u), which is all the M-step needs; rows are users in CSR order.
"""

import math

import numpy as np

from ._jit import kernel
from .parallel import map_add

#: users per chunk of the threaded E-step (fixed, so results do not depend on threads)
USER_CHUNK = 256


@kernel()
def _user_posterior(indptr, items, values, u, item_bias, loadings, bias_var, noise_var,
                    precision, mean, rhs):
    """Fill precision's Cholesky factor (lower) and the posterior mean of user u's
    (c_u, z_u); returns (sum of squared offsets / s2, log|P_u|)."""
    dims = loadings.shape[1] + 1
    precision[:, :] = 0.0
    rhs[:] = 0.0
    precision[0, 0] = 1.0 / bias_var
    for d in range(1, dims):
        precision[d, d] = 1.0
    squares = 0.0
    inv = 1.0 / noise_var
    for p in range(indptr[u], indptr[u + 1]):
        i = items[p]
        y = values[p] - item_bias[i]
        squares += y * y * inv
        rhs[0] += y * inv
        precision[0, 0] += inv
        for d in range(1, dims):
            wd = loadings[i, d - 1] * inv
            rhs[d] += y * wd
            precision[d, 0] += wd
            for e in range(1, d + 1):
                precision[d, e] += wd * loadings[i, e - 1]
    # in-place Cholesky (lower triangle), then solve for the mean
    log_det = 0.0
    for j in range(dims):
        total = precision[j, j]
        for k in range(j):
            total -= precision[j, k] * precision[j, k]
        diagonal = math.sqrt(total)
        precision[j, j] = diagonal
        log_det += 2.0 * math.log(diagonal)
        for i in range(j + 1, dims):
            total = precision[i, j]
            for k in range(j):
                total -= precision[i, k] * precision[j, k]
            precision[i, j] = total / diagonal
    for i in range(dims):
        total = rhs[i]
        for k in range(i):
            total -= precision[i, k] * mean[k]
        mean[i] = total / precision[i, i]
    for i in range(dims - 1, -1, -1):
        total = mean[i]
        for k in range(i + 1, dims):
            total -= precision[k, i] * mean[k]
        mean[i] = total / precision[i, i]
    return squares, log_det


@kernel()
def _posterior_covariance(factor, covariance):
    """covariance = P^-1 from P's lower Cholesky factor."""
    dims = factor.shape[0]
    for column in range(dims):
        for i in range(dims):  # forward: L y = e_column
            total = 1.0 if i == column else 0.0
            for k in range(i):
                total -= factor[i, k] * covariance[k, column]
            covariance[i, column] = total / factor[i, i]
        for i in range(dims - 1, -1, -1):  # backward: L^T x = y
            total = covariance[i, column]
            for k in range(i + 1, dims):
                total -= factor[k, i] * covariance[k, column]
            covariance[i, column] = total / factor[i, i]


@kernel()
def factor_estep_chunk(indptr, items, values, item_bias, loadings, bias_var, noise_var,
                       start, stop):
    """Sufficient statistics of users [start, stop): per item S_i = sum E[x~ x~^T],
    t_i = sum y E[x~], q_i = sum y^2, n_i; sum of E[c_u^2]; log-likelihood."""
    n_items, n_factors = loadings.shape
    dims = n_factors + 1
    aug = dims + 1
    second = np.zeros((n_items, aug, aug))
    first = np.zeros((n_items, aug))
    squares = np.zeros(n_items)
    counts = np.zeros(n_items)
    bias_moment = 0.0
    loglik = 0.0
    precision = np.empty((dims, dims))
    covariance = np.empty((dims, dims))
    mean = np.empty(dims)
    rhs = np.empty(dims)
    moment = np.empty((aug, aug))
    log_two_pi_s2 = math.log(2.0 * math.pi * noise_var)
    for u in range(start, stop):
        n_rated = indptr[u + 1] - indptr[u]
        if n_rated == 0:
            continue
        scaled_squares, log_det = _user_posterior(indptr, items, values, u, item_bias,
                                                  loadings, bias_var, noise_var, precision,
                                                  mean, rhs)
        quadratic = 0.0
        for d in range(dims):
            quadratic += rhs[d] * mean[d]
        loglik += -0.5 * (n_rated * log_two_pi_s2 + math.log(bias_var) + log_det
                          + scaled_squares - quadratic)
        _posterior_covariance(precision, covariance)
        moment[0, 0] = 1.0
        for d in range(dims):
            moment[0, d + 1] = mean[d]
            moment[d + 1, 0] = mean[d]
            for e in range(dims):
                moment[d + 1, e + 1] = covariance[d, e] + mean[d] * mean[e]
        bias_moment += moment[1, 1]
        for p in range(indptr[u], indptr[u + 1]):
            i = items[p]
            y = values[p]
            counts[i] += 1.0
            squares[i] += y * y
            for d in range(aug):
                first[i, d] += y * moment[0, d]
                for e in range(aug):
                    second[i, d, e] += moment[d, e]
    return second, first, squares, counts, bias_moment, loglik


def factor_estep(indptr, items, values, item_bias, loadings, bias_var, noise_var):
    """Sufficient statistics over all users (CSR rows), summed in chunk order."""
    return map_add(lambda start, stop: factor_estep_chunk(
        indptr, items, values, item_bias, loadings, bias_var, noise_var, start, stop),
        indptr.shape[0] - 1, USER_CHUNK)


@kernel()
def factor_user_posteriors(indptr, items, values, item_bias, loadings, bias_var, noise_var):
    """Posterior means (U, 1 + K) of every user's (c_u, z_u) and their variances' diagonal."""
    n_users = indptr.shape[0] - 1
    dims = loadings.shape[1] + 1
    means = np.zeros((n_users, dims))
    variances = np.zeros((n_users, dims))
    precision = np.empty((dims, dims))
    covariance = np.empty((dims, dims))
    rhs = np.empty(dims)
    mean = np.empty(dims)
    for u in range(n_users):
        _user_posterior(indptr, items, values, u, item_bias, loadings, bias_var, noise_var,
                        precision, mean, rhs)
        _posterior_covariance(precision, covariance)
        means[u] = mean
        for d in range(dims):
            variances[u, d] = covariance[d, d]
    return means, variances
