"""The aspect model (pLSA, Hofmann 1999/2004) over a users x items count matrix, and its
Gaussian form for ratings.

P(i | u) = sum_z theta_uz phi_zi.  The (tempered) E-step gives each observed pair the
posterior q(z | u, i) proportional to (theta_uz phi_zi)^beta and adds n_ui q to the
topic-item and user-topic counts; it returns the free energy
sum n_ui (1/beta) log sum_z (theta_uz phi_zi)^beta, the log-likelihood at beta = 1.
Gaussian pLSA (Hofmann 2004) replaces phi_zi by the density N(v_ui; mu_iz, s2_iz) of the
rating.  Rows are users in CSR order.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import softmax_inplace
from .parallel import map_add

#: users per chunk of the threaded E-step (fixed, so results do not depend on threads)
USER_CHUNK = 128


@kernel(fastmath=REDUCE_FLAGS)
def aspect_estep_chunk(indptr, items, counts, log_theta, log_phi, beta, start, stop):
    """(topic-item counts (K, I), user-topic counts (U, K), free energy) of users
    [start, stop); log_phi is (I, K) so each pair reads one contiguous row."""
    n_topics = log_theta.shape[1]
    n_items = log_phi.shape[0]
    topic_item = np.zeros((n_items, n_topics))
    user_topic = np.zeros((log_theta.shape[0], n_topics))
    scratch = np.empty(n_topics)
    energy = 0.0
    for u in range(start, stop):
        for p in range(indptr[u], indptr[u + 1]):
            i = items[p]
            for z in range(n_topics):
                scratch[z] = beta * (log_theta[u, z] + log_phi[i, z])
            log_total = softmax_inplace(scratch, n_topics)
            for z in range(n_topics):
                share = scratch[z] * counts[p]
                topic_item[i, z] += share
                user_topic[u, z] += share
            energy += counts[p] * log_total / beta
    return topic_item, user_topic, energy


def aspect_estep(indptr, items, counts, log_theta, log_phi, beta=1.0):
    """Counts and free energy over all users, summed in chunk order."""
    return map_add(lambda start, stop: aspect_estep_chunk(
        indptr, items, counts, log_theta, log_phi, beta, start, stop),
        indptr.shape[0] - 1, USER_CHUNK)


@kernel(fastmath=REDUCE_FLAGS)
def gaussian_aspect_estep_chunk(indptr, items, values, log_theta, means, variances, beta,
                                start, stop):
    """(per item and class sum q, sum q v, sum q v^2 (I, K, 3), user-class sums (U, K),
    free energy) of users [start, stop), with q(z | u, i, v) proportional to
    (theta_uz N(v; mu_iz, s2_iz))^beta."""
    n_items, n_topics = means.shape
    item_moments = np.zeros((n_items, n_topics, 3))
    user_topic = np.zeros((log_theta.shape[0], n_topics))
    scratch = np.empty(n_topics)
    half_log_two_pi = 0.5 * math.log(2.0 * math.pi)
    energy = 0.0
    for u in range(start, stop):
        for p in range(indptr[u], indptr[u + 1]):
            i = items[p]
            v = values[p]
            for z in range(n_topics):
                residual = v - means[i, z]
                scratch[z] = beta * (log_theta[u, z] - half_log_two_pi
                                     - 0.5 * math.log(variances[i, z])
                                     - 0.5 * residual * residual / variances[i, z])
            log_total = softmax_inplace(scratch, n_topics)
            for z in range(n_topics):
                q = scratch[z]
                item_moments[i, z, 0] += q
                item_moments[i, z, 1] += q * v
                item_moments[i, z, 2] += q * v * v
                user_topic[u, z] += q
            energy += log_total / beta
    return item_moments, user_topic, energy


def gaussian_aspect_estep(indptr, items, values, log_theta, means, variances, beta=1.0):
    """Moments and free energy over all users, summed in chunk order."""
    return map_add(lambda start, stop: gaussian_aspect_estep_chunk(
        indptr, items, values, log_theta, means, variances, beta, start, stop),
        indptr.shape[0] - 1, USER_CHUNK)
