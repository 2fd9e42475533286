"""The latent class E-step: categorical items, missing answers, fused with the
sufficient statistics.

A respondent's answers are ``codes[n, j]`` (0..C_j - 1, or -1 when item j is missing).
Item j's categories sit at columns ``offsets[j] .. offsets[j + 1] - 1`` of the flat
(K, sum_j C_j) table of log response probabilities, so
log p(x_n, k) = log w_k + sum over observed j of log_probs[k, offsets[j] + codes[n, j]]:
missing items drop out of the likelihood (full information under missingness at random).
The statistics are N_k = sum_n r_nk and counts[k, c] = sum_n r_nk [x_n answers c].
``latent_class_chunk`` covers rows [start, stop); passes run over fixed chunks on
threads and add in chunk order (see parallel.py), so any thread count gives the same bits.
"""

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK, posterior_block, posterior_buffers
from .parallel import CHUNK_ROWS, map_add, map_chunks


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_block(codes, offsets, first, nb, log_weights, log_probs_by_answer, lp):
    """lp[k, b] = log w_k + sum_j log p(x_{first+b, j} | k) for b < nb."""
    n_components = log_weights.shape[0]
    n_items = codes.shape[1]
    for b in range(nb):
        for k in range(n_components):
            lp[k, b] = log_weights[k]
        for j in range(n_items):
            code = codes[first + b, j]
            if code >= 0:
                column = offsets[j] + code
                for k in range(n_components):
                    lp[k, b] += log_probs_by_answer[column, k]


@kernel(fastmath=REDUCE_FLAGS)
def latent_class_chunk(codes, offsets, start, stop, sample_weight, log_weights,
                       log_probs_by_answer):
    """(N_k, counts (sum_j C_j, K), log-likelihood, classification term) of rows
    [start, stop).  ``log_probs_by_answer`` is the (sum_j C_j, K) table, answer-major so
    that one answer's K values are contiguous; sample_weight is empty for unit weights."""
    n_answers, n_components = log_probs_by_answer.shape
    n_items = codes.shape[1]
    nk = np.zeros(n_components)
    counts = np.zeros((n_answers, n_components))
    loglik = 0.0
    classification = 0.0
    lp, top, norm = posterior_buffers(n_components)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_block(codes, offsets, first, nb, log_weights, log_probs_by_answer, lp)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        for b in range(nb):
            for k in range(n_components):
                nk[k] += lp[k, b]
            for j in range(n_items):
                code = codes[first + b, j]
                if code >= 0:
                    column = offsets[j] + code
                    for k in range(n_components):
                        counts[column, k] += lp[k, b]
    return nk, counts, loglik, classification


def latent_class_pass(codes, offsets, sample_weight, log_weights, log_probs_by_answer,
                      chunk_rows=CHUNK_ROWS):
    """(N_k, counts, log-likelihood, classification term) of all rows."""
    return map_add(lambda start, stop: latent_class_chunk(
        codes, offsets, start, stop, sample_weight, log_weights, log_probs_by_answer),
        codes.shape[0], chunk_rows)


@kernel(fastmath=REDUCE_FLAGS)
def latent_class_posterior_chunk(codes, offsets, start, stop, log_weights,
                                 log_probs_by_answer):
    """(p(k | x_n) as (stop - start, K), log p(x_n)) of rows [start, stop)."""
    n_components = log_weights.shape[0]
    n_rows = stop - start
    resp = np.empty((n_rows, n_components))
    log_density = np.empty(n_rows)
    lp, top, norm = posterior_buffers(n_components)
    unit = np.empty(0)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_block(codes, offsets, first, nb, log_weights, log_probs_by_answer, lp)
        posterior_block(lp, nb, unit, first, top, norm)
        for b in range(nb):   # norm[b] is now 1 / sum_k exp(lp[k, b] - top[b])
            log_density[first - start + b] = top[b] - np.log(norm[b])
            for k in range(n_components):
                resp[first - start + b, k] = lp[k, b]
    return resp, log_density


def latent_class_posteriors(codes, offsets, log_weights, log_probs_by_answer,
                            chunk_rows=CHUNK_ROWS):
    """(p(k | x_n) as (N, K), log p(x_n) as (N,)) of every row."""
    parts = map_chunks(lambda start, stop: latent_class_posterior_chunk(
        codes, offsets, start, stop, log_weights, log_probs_by_answer),
        codes.shape[0], chunk_rows)
    return (np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]))
