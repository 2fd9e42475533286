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
from .linalg import cholesky_in_place, cholesky_inverse, cholesky_solve, unpack_lower
from .parallel import map_add, map_chunks

#: users and items per chunk of the threaded E-step (fixed, so results do not depend on
#: threads)
USER_CHUNK = 128
ITEM_CHUNK = 256


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
        for d in range(n_factors):  # full rows: fixed-length loops vectorise best
            scaled = a * w[d]
            row = precision[d]
            for e in range(n_factors):
                row[e] += scaled * w[e]
    return log_conf, conf_sum


@kernel(fastmath=REDUCE_FLAGS)
def implicit_users_chunk(indptr, items, extra, loadings, gram, prior, start, stop,
                         user_second, user_mean):
    """Posterior E[x_u x_u^T] (packed lower triangle) and E[x_u] of users [start, stop)
    into their rows of ``user_second`` and ``user_mean``; returns (their packed sum, the
    log-likelihood of their entries)."""
    n_factors = loadings.shape[1]
    n_packed = n_factors * (n_factors + 1) // 2
    moment = np.zeros(n_packed)
    precision = np.empty((n_factors, n_factors))
    covariance = np.empty((n_factors, n_factors))
    rhs = np.empty(n_factors)
    loglik = 0.0
    for u in range(start, stop):
        log_conf, conf_sum = _user_precision(indptr, items, extra, u, loadings, gram, prior,
                                             precision, rhs)
        log_det = cholesky_in_place(precision)
        mean = user_mean[u]
        cholesky_solve(precision, rhs, mean)
        cholesky_inverse(precision, covariance)
        quadratic = 0.0
        for d in range(n_factors):
            quadratic += rhs[d] * mean[d]
        loglik += -0.5 * (conf_sum - log_conf - quadratic + log_det
                          - n_factors * math.log(prior))
        packed = user_second[u]
        t = 0
        for d in range(n_factors):
            for e in range(d + 1):
                packed[t] = covariance[d, e] + mean[d] * mean[e]
                t += 1
        for t in range(n_packed):
            moment[t] += packed[t]
    return moment, loglik


@kernel(fastmath=REDUCE_FLAGS)
def implicit_items_chunk(item_indptr, entry_user, entry_extra, user_second, user_mean,
                         start, stop, item_second, item_first):
    """A_i = sum_u a_ui E[x_u x_u^T] (packed) and b_i = sum_u (1 + a_ui) E[x_u] for items
    [start, stop) into their rows, over the entries in item-major order."""
    for i in range(start, stop):
        second = item_second[i]
        first = item_first[i]
        for p in range(item_indptr[i], item_indptr[i + 1]):
            a = entry_extra[p]
            moment = user_second[entry_user[p]]
            for t in range(second.shape[0]):
                second[t] += a * moment[t]
            mean = user_mean[entry_user[p]]
            for d in range(first.shape[0]):
                first[d] += (1.0 + a) * mean[d]


def by_item(indptr, items, values, n_items):
    """The CSR entries in item-major order: (item indptr, user of each entry, values)."""
    order = np.argsort(items, kind="stable")
    users = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr))
    item_indptr = np.concatenate([[0], np.cumsum(np.bincount(items, minlength=n_items))])
    return item_indptr.astype(np.int64), users[order], values[order]


def implicit_estep(indptr, items, extra, loadings, prior):
    """(A packed (I, K(K+1)/2), b (I, K), M = sum_u E[x_u x_u^T] (K, K), log-likelihood)
    over all users (CSR rows of feedback).  Users, then items, run in fixed chunks that
    write their own rows; the two user totals are summed in chunk order."""
    n_users = indptr.shape[0] - 1
    n_items, n_factors = loadings.shape
    n_packed = n_factors * (n_factors + 1) // 2
    gram = loadings.T @ loadings
    user_second = np.empty((n_users, n_packed))
    user_mean = np.empty((n_users, n_factors))
    moment, loglik = map_add(lambda start, stop: implicit_users_chunk(
        indptr, items, extra, loadings, gram, prior, start, stop, user_second, user_mean),
        n_users, USER_CHUNK)
    item_indptr, entry_user, entry_extra = by_item(indptr, items, extra, n_items)
    item_second = np.zeros((n_items, n_packed))
    item_first = np.zeros((n_items, n_factors))
    map_chunks(lambda start, stop: implicit_items_chunk(
        item_indptr, entry_user, entry_extra, user_second, user_mean, start, stop,
        item_second, item_first), n_items, ITEM_CHUNK)
    return item_second, item_first, unpack_lower(moment[None], n_factors)[0], loglik


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
