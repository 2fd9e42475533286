"""Factor analysis with missing entries (probabilistic PCA for ratings, Canny 2002),
with Gaussian posteriors over both users and items (variational Bayes, Lim & Teh 2007).

User u's centred ratings y_ui = r_ui - mu are modelled as y_ui = b_i + c_u + w_i^T z_u + e,
e ~ N(0, s2), latent x_u = (c_u, z_u) ~ N(0, diag(t2, 1, ..., 1)), and item terms
f_i = (b_i, w_i) with a Gaussian q(f_i).  With v_x = (1, w_i), the optimal q(x_u) has
precision P_u = Lambda0^-1 + sum_i E[v_x v_x^T] / s2 and mean
P_u^-1 sum_i (y_ui E[v_x] - E[b_i v_x]) / s2.  The E-step adds, per rated item,
E[x~ x~^T] and y E[x~] for the augmented x~ = (1, c_u, z_u): all the item update needs.
Items enter through their moments: ``bias_mean`` E[b_i], ``loading_mean`` E[w_i],
``outer`` E[v_x v_x^T], ``cross`` E[b_i v_x], ``bias_square`` E[b_i^2]; rows are users
in CSR order.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .linalg import cholesky_in_place, cholesky_inverse, cholesky_solve, unpack_lower
from .parallel import map_add

#: users per chunk of the threaded E-step (fixed, so results do not depend on threads)
USER_CHUNK = 256


@kernel(fastmath=REDUCE_FLAGS)
def _user_posterior(indptr, items, values, u, bias_mean, loading_mean, outer, cross,
                    bias_square, bias_var, noise_var, precision, mean, rhs):
    """Fill precision's Cholesky factor (lower) and the posterior mean of user u's
    (c_u, z_u); returns (sum_i E[(y - b_i)^2] / s2, log|P_u|)."""
    dims = loading_mean.shape[1] + 1
    precision[:, :] = 0.0
    rhs[:] = 0.0
    squares = 0.0
    inv = 1.0 / noise_var
    for p in range(indptr[u], indptr[u + 1]):
        i = items[p]
        y = values[p]
        squares += (y * y - 2.0 * y * bias_mean[i] + bias_square[i]) * inv
        rhs[0] += (y - cross[i, 0]) * inv
        for d in range(1, dims):
            rhs[d] += (y * loading_mean[i, d - 1] - cross[i, d]) * inv
        block = outer[i]
        for d in range(dims):
            for e in range(dims):
                precision[d, e] += block[d, e] * inv
    precision[0, 0] += 1.0 / bias_var
    for d in range(1, dims):
        precision[d, d] += 1.0
    log_det = cholesky_in_place(precision)
    cholesky_solve(precision, rhs, mean)
    return squares, log_det


@kernel(fastmath=REDUCE_FLAGS)
def _scatter_moments(items, values, lo, hi, packed, moment_row, second, first, squares,
                     counts):
    """Add one user's packed E[x~ x~^T] and y E[x~] to each item they rated."""
    for p in range(lo, hi):
        i = items[p]
        y = values[p]
        counts[i] += 1.0
        squares[i] += y * y
        target = second[i]
        for t in range(packed.shape[0]):
            target[t] += packed[t]
        row = first[i]
        for d in range(moment_row.shape[0]):
            row[d] += y * moment_row[d]


@kernel()
def factor_estep_chunk(indptr, items, values, bias_mean, loading_mean, outer, cross,
                       bias_square, bias_var, noise_var, start, stop):
    """Sufficient statistics of users [start, stop): per item S_i = sum E[x~ x~^T]
    (lower triangle packed row by row), t_i = sum y E[x~], q_i = sum y^2, n_i; the sum
    of E[c_u^2]; the log-likelihood."""
    n_items, n_factors = loading_mean.shape
    dims = n_factors + 1
    aug = dims + 1
    n_packed = aug * (aug + 1) // 2
    second = np.zeros((n_items, n_packed))
    first = np.zeros((n_items, aug))
    squares = np.zeros(n_items)
    counts = np.zeros(n_items)
    bias_moment = 0.0
    loglik = 0.0
    precision = np.empty((dims, dims))
    covariance = np.empty((dims, dims))
    mean = np.empty(dims)
    rhs = np.empty(dims)
    packed = np.empty(n_packed)
    moment_row = np.empty(aug)
    log_two_pi_s2 = math.log(2.0 * math.pi * noise_var)
    for u in range(start, stop):
        n_rated = indptr[u + 1] - indptr[u]
        if n_rated == 0:
            continue
        scaled_squares, log_det = _user_posterior(indptr, items, values, u, bias_mean,
                                                  loading_mean, outer, cross, bias_square,
                                                  bias_var, noise_var, precision, mean, rhs)
        quadratic = 0.0
        for d in range(dims):
            quadratic += rhs[d] * mean[d]
        loglik += -0.5 * (n_rated * log_two_pi_s2 + math.log(bias_var) + log_det
                          + scaled_squares - quadratic)
        cholesky_inverse(precision, covariance)
        moment_row[0] = 1.0
        for d in range(dims):
            moment_row[d + 1] = mean[d]
        t = 0
        for d in range(aug):  # packed lower triangle of [[1, m^T], [m, S + m m^T]]
            for e in range(d + 1):
                if d == 0:
                    packed[t] = 1.0
                elif e == 0:
                    packed[t] = mean[d - 1]
                else:
                    packed[t] = covariance[d - 1, e - 1] + mean[d - 1] * mean[e - 1]
                t += 1
        bias_moment += covariance[0, 0] + mean[0] * mean[0]
        _scatter_moments(items, values, indptr[u], indptr[u + 1], packed, moment_row, second,
                         first, squares, counts)
    return second, first, squares, counts, bias_moment, loglik


def factor_estep(indptr, items, values, bias_mean, loading_mean, outer, cross, bias_square,
                 bias_var, noise_var):
    """Sufficient statistics over all users (CSR rows), summed in chunk order, with the
    per-item second moments as full (I, K + 2, K + 2) matrices."""
    second, *rest = map_add(lambda start, stop: factor_estep_chunk(
        indptr, items, values, bias_mean, loading_mean, outer, cross, bias_square, bias_var,
        noise_var, start, stop), indptr.shape[0] - 1, USER_CHUNK)
    return (unpack_lower(second, loading_mean.shape[1] + 2), *rest)


@kernel()
def factor_user_posteriors(indptr, items, values, bias_mean, loading_mean, outer, cross,
                           bias_square, bias_var, noise_var):
    """Posterior means (U, 1 + K) of every user's (c_u, z_u) and their variances' diagonal."""
    n_users = indptr.shape[0] - 1
    dims = loading_mean.shape[1] + 1
    means = np.zeros((n_users, dims))
    variances = np.zeros((n_users, dims))
    precision = np.empty((dims, dims))
    covariance = np.empty((dims, dims))
    rhs = np.empty(dims)
    mean = np.empty(dims)
    for u in range(n_users):
        _user_posterior(indptr, items, values, u, bias_mean, loading_mean, outer, cross,
                        bias_square, bias_var, noise_var, precision, mean, rhs)
        cholesky_inverse(precision, covariance)
        means[u] = mean
        for d in range(dims):
            variances[u, d] = covariance[d, d]
    return means, variances
