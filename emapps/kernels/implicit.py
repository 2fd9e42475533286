"""Probabilistic weighted matrix factorisation for implicit feedback, E-step over users.

Every user-item entry is observed: p_ui = 1 for feedback, 0 otherwise, with
p_ui ~ N(w_i^T x_u, 1 / c_ui), confidence c_ui = 1 + a_ui (a_ui = alpha * count, 0 when
there is no feedback), x_u ~ N(0, I / lambda).  With G = W^T W the posterior of x_u has
precision P_u = lambda I + G + sum_{i in F(u)} a_ui w_i w_i^T and mean
P_u^-1 sum_{i in F(u)} (1 + a_ui) w_i, so a user costs only their feedback rows.  The
E-step returns M = sum_u E[x_u x_u^T], per item A_i = sum_{u in F(i)} a_ui E[x_u x_u^T]
(packed lower triangle) and b_i = sum_{u in F(i)} (1 + a_ui) E[x_u], and the marginal
log-likelihood of all entries (the Gaussian's log 2 pi term left out).
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .linalg import cholesky_in_place, cholesky_solve
from .parallel import map_add

#: users per chunk of the threaded E-step (fixed, so results do not depend on threads)
USER_CHUNK = 128


@kernel(fastmath=REDUCE_FLAGS)
def _user_precision(indptr, items, extra, u, loadings, gram, prior, precision, rhs):
    """Fill user u's posterior precision and right-hand side; return the feedback terms
    (sum log c_ui, sum c_ui) of the log-likelihood."""
    n_factors = loadings.shape[1]
    for d in range(n_factors):
        rhs[d] = 0.0
        for e in range(n_factors):
            precision[d, e] = gram[d, e]
        precision[d, d] += prior
    log_conf = 0.0
    conf_sum = 0.0
    for p in range(indptr[u], indptr[u + 1]):
        w = loadings[items[p]]
        a = extra[p]
        log_conf += math.log1p(a)
        conf_sum += 1.0 + a
        for d in range(n_factors):
            rhs[d] += (1.0 + a) * w[d]
        for d in range(n_factors):  # lower triangle only; mirrored below
            scaled = a * w[d]
            row = precision[d]
            for e in range(d + 1):
                row[e] += scaled * w[e]
    for d in range(n_factors):
        for e in range(d):
            precision[e, d] = precision[d, e]
    return log_conf, conf_sum


@kernel(fastmath=REDUCE_FLAGS)
def implicit_estep_chunk(indptr, items, extra, loadings, gram, prior, start, stop):
    """(A packed (I, K(K+1)/2), b (I, K), M (K, K), log-likelihood) of users [start, stop)."""
    n_items, n_factors = loadings.shape
    n_packed = n_factors * (n_factors + 1) // 2
    item_second = np.zeros((n_items, n_packed))
    item_first = np.zeros((n_items, n_factors))
    user_moment = np.zeros((n_factors, n_factors))
    precision = np.empty((n_factors, n_factors))
    covariance = np.empty((n_factors, n_factors))
    rhs = np.empty(n_factors)
    mean = np.empty(n_factors)
    packed = np.empty(n_packed)
    loglik = 0.0
    for u in range(start, stop):
        log_conf, conf_sum = _user_precision(indptr, items, extra, u, loadings, gram, prior,
                                             precision, rhs)
        covariance[:, :] = np.linalg.inv(precision)
        log_det = cholesky_in_place(precision)
        cholesky_solve(precision, rhs, mean)
        quadratic = 0.0
        for d in range(n_factors):
            quadratic += rhs[d] * mean[d]
        loglik += -0.5 * (conf_sum - log_conf - quadratic + log_det
                          - n_factors * math.log(prior))
        t = 0
        for d in range(n_factors):
            for e in range(d + 1):
                value = covariance[d, e] + mean[d] * mean[e]
                packed[t] = value
                user_moment[d, e] += value
                t += 1
        for p in range(indptr[u], indptr[u + 1]):
            i = items[p]
            a = extra[p]
            target = item_second[i]
            for t in range(n_packed):
                target[t] += a * packed[t]
            row = item_first[i]
            for d in range(n_factors):
                row[d] += (1.0 + a) * mean[d]
    for d in range(n_factors):
        for e in range(d):
            user_moment[e, d] = user_moment[d, e]
    return item_second, item_first, user_moment, loglik


def implicit_estep(indptr, items, extra, loadings, prior):
    """Statistics over all users (CSR rows of feedback), summed in chunk order."""
    gram = loadings.T @ loadings
    return map_add(lambda start, stop: implicit_estep_chunk(
        indptr, items, extra, loadings, gram, prior, start, stop), indptr.shape[0] - 1,
        USER_CHUNK)


@kernel()
def implicit_user_means(indptr, items, extra, loadings, gram, prior):
    """Posterior means (U, K) of the users' factors."""
    n_users = indptr.shape[0] - 1
    n_factors = loadings.shape[1]
    means = np.zeros((n_users, n_factors))
    precision = np.empty((n_factors, n_factors))
    rhs = np.empty(n_factors)
    for u in range(n_users):
        _user_precision(indptr, items, extra, u, loadings, gram, prior, precision, rhs)
        cholesky_in_place(precision)
        cholesky_solve(precision, rhs, means[u])
    return means
