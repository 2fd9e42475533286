"""The latent class E-step: categorical items, missing answers, fused with the
sufficient statistics.

A respondent's answers come as rows of a flat (A + 1, K) table: ``answers[n, j]`` is the
row of item j's answer (item j's answers occupy rows offsets[j] .. offsets[j + 1] - 1 of
the A answer rows), and a missing answer points at row A, whose log-probabilities are
zero.  So log p(x_n, k) = log w_k + sum_j log_probs[answers[n, j], k] needs no test
for missing answers: they drop out of the likelihood (full information under
missingness at random), and their counts land in row A, which the M-step ignores.
The statistics are N_k = sum_n r_nk and counts[a, k] = sum_n r_nk [x_n gives answer a].
``latent_class_chunk`` covers rows [start, stop); passes run over fixed chunks on
threads and add in chunk order (see parallel.py), so any thread count gives the same bits.
"""

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK, posterior_block, posterior_buffers
from .parallel import CHUNK_ROWS, map_add, map_chunks


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_block(answers, first, nb, log_weights, log_probs, lp, row):
    """lp[k, b] = log w_k + sum_j log_probs[answers[first + b, j], k] for b < nb
    (``row``: K scratch values)."""
    n_components = log_weights.shape[0]
    n_items = answers.shape[1]
    for b in range(nb):
        for k in range(n_components):
            row[k] = log_weights[k]
        for j in range(n_items):
            answer = answers[first + b, j]
            for k in range(n_components):
                row[k] += log_probs[answer, k]
        for k in range(n_components):
            lp[k, b] = row[k]


@kernel(fastmath=REDUCE_FLAGS)
def latent_class_chunk(answers, start, stop, sample_weight, log_weights, log_probs):
    """(N_k, counts (A + 1, K), log-likelihood, classification term) of rows
    [start, stop); sample_weight is empty for unit weights."""
    n_rows_table, n_components = log_probs.shape
    n_items = answers.shape[1]
    nk = np.zeros(n_components)
    counts = np.zeros((n_rows_table, n_components))
    loglik = 0.0
    classification = 0.0
    lp, top, norm = posterior_buffers(n_components)
    row = np.empty(n_components)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_block(answers, first, nb, log_weights, log_probs, lp, row)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        for b in range(nb):
            for k in range(n_components):
                row[k] = lp[k, b]
                nk[k] += row[k]
            for j in range(n_items):
                answer = answers[first + b, j]
                for k in range(n_components):
                    counts[answer, k] += row[k]
    return nk, counts, loglik, classification


def latent_class_pass(answers, sample_weight, log_weights, log_probs, chunk_rows=CHUNK_ROWS):
    """(N_k, counts, log-likelihood, classification term) of all rows."""
    return map_add(lambda start, stop: latent_class_chunk(
        answers, start, stop, sample_weight, log_weights, log_probs),
        answers.shape[0], chunk_rows)


@kernel(fastmath=REDUCE_FLAGS)
def latent_class_posterior_chunk(answers, start, stop, log_weights, log_probs):
    """(p(k | x_n) as (stop - start, K), log p(x_n)) of rows [start, stop)."""
    n_components = log_weights.shape[0]
    n_rows = stop - start
    resp = np.empty((n_rows, n_components))
    log_density = np.empty(n_rows)
    lp, top, norm = posterior_buffers(n_components)
    row = np.empty(n_components)
    unit = np.empty(0)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_block(answers, first, nb, log_weights, log_probs, lp, row)
        posterior_block(lp, nb, unit, first, top, norm)
        for b in range(nb):   # norm[b] is now 1 / sum_k exp(lp[k, b] - top[b])
            log_density[first - start + b] = top[b] - np.log(norm[b])
            for k in range(n_components):
                resp[first - start + b, k] = lp[k, b]
    return resp, log_density


def latent_class_posteriors(answers, log_weights, log_probs, chunk_rows=CHUNK_ROWS):
    """(p(k | x_n) as (N, K), log p(x_n) as (N,)) of every row."""
    parts = map_chunks(lambda start, stop: latent_class_posterior_chunk(
        answers, start, stop, log_weights, log_probs), answers.shape[0], chunk_rows)
    return (np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]))
