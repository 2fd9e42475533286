"""The latent class E-step over mixed indicators (categorical answers, Gaussian
measurements, Poisson counts), each with missing values, fused with the sufficient
statistics.

Categorical answers come as rows of a flat (A + 1, K) table of log-probabilities:
``answers[n, j]`` is the row of item j's answer, and a missing answer points at row A,
whose entries are zero, so missing answers need no test: they drop out of the
likelihood (full information under missingness at random) and their counts land in row
A, which the M-step ignores.  Measurements ``continuous[n, d]`` are Gaussian within a
class (mean, precision and log normaliser per (d, k)); counts ``counts[n, p]`` are
Poisson (rate per (p, k)); NaN is missing in both.  Within a class every indicator is
independent, so log p(x_n, k) = log w_k + the sum of the observed indicators' terms.

With covariates ``covariates[n, q]`` (latent class regression, poLCA's formula with
covariates) the class prior of respondent n is softmax_k(z_n . coefficients[:, k])
instead of the shares.

Statistics: N_k; answer counts (A + 1, K); for measurements the weighted sums of 1, x,
x^2 over the observed cells (D, K) each; for counts those of 1 and x (P, K); with
covariates the score and information of the multinomial logit of the priors, its
targets the posteriors (the Newton step of the M-step).
``latent_class_chunk`` covers rows [start, stop); passes run over fixed chunks on
threads and add in chunk order (see parallel.py), so any thread count gives the same bits.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK, posterior_block, posterior_buffers, softmax_inplace
from .parallel import CHUNK_ROWS, map_add, map_chunks


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_block(answers, continuous, counts, covariates, first, nb, log_weights,
                     coefficients, log_probs, means, precisions, log_norms, rates, log_rates,
                     lp, row, priors):
    """lp[k, b] = log p(x_{first + b}, k) for b < nb (``row``: K scratch values).  With
    covariates (Q > 0) the class prior is softmax_k(z_n . coefficients[:, k]) and
    priors[k, b] keeps it; else it is the shares."""
    n_components = log_weights.shape[0]
    n_items = answers.shape[1]
    n_covariates = covariates.shape[1]
    for b in range(nb):
        n = first + b
        if n_covariates == 0:
            for k in range(n_components):
                row[k] = log_weights[k]
        else:
            for k in range(n_components):
                eta = 0.0
                for q in range(n_covariates):
                    eta += covariates[n, q] * coefficients[q, k]
                row[k] = eta
                priors[k, b] = eta
            log_total = softmax_inplace(row, n_components)   # row: the prior
            for k in range(n_components):
                prior = row[k]
                row[k] = priors[k, b] - log_total
                priors[k, b] = prior
        for j in range(n_items):
            answer = answers[n, j]
            for k in range(n_components):
                row[k] += log_probs[answer, k]
        for d in range(continuous.shape[1]):
            x = continuous[n, d]
            if not math.isnan(x):
                for k in range(n_components):
                    diff = x - means[d, k]
                    row[k] += log_norms[d, k] - 0.5 * precisions[d, k] * diff * diff
        for p in range(counts.shape[1]):
            x = counts[n, p]
            if not math.isnan(x):
                log_factorial = math.lgamma(x + 1.0)
                for k in range(n_components):
                    row[k] += x * log_rates[p, k] - rates[p, k] - log_factorial
        for k in range(n_components):
            lp[k, b] = row[k]


@kernel(fastmath=REDUCE_FLAGS)
def latent_class_chunk(answers, continuous, counts, covariates, start, stop, sample_weight,
                       log_weights, coefficients, log_probs, means, precisions, log_norms,
                       rates, log_rates):
    """(N_k, answer counts (A + 1, K), measurement sums of 1, x, x^2 (D, K) each, count
    sums of 1, x (P, K) each, the multinomial-logit score (Q, K) and information
    (Q K, Q K) of the class priors given the posteriors, log-likelihood, classification
    term) of rows [start, stop); sample_weight is empty for unit weights."""
    n_components = log_weights.shape[0]
    n_items = answers.shape[1]
    n_continuous, n_counts = continuous.shape[1], counts.shape[1]
    n_covariates = covariates.shape[1]
    weighted = sample_weight.shape[0] > 0
    score = np.zeros((n_covariates, n_components))
    information = np.zeros((n_covariates * n_components, n_covariates * n_components))
    priors = np.empty((n_components, BLOCK)) if n_covariates else np.empty((0, 0))
    nk = np.zeros(n_components)
    answer_counts = np.zeros((log_probs.shape[0], n_components))
    measured = np.zeros((n_continuous, n_components))
    sum_x = np.zeros((n_continuous, n_components))
    sum_xx = np.zeros((n_continuous, n_components))
    counted = np.zeros((n_counts, n_components))
    sum_counts = np.zeros((n_counts, n_components))
    loglik = 0.0
    classification = 0.0
    lp, top, norm = posterior_buffers(n_components)
    row = np.empty(n_components)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_block(answers, continuous, counts, covariates, first, nb, log_weights,
                         coefficients, log_probs, means, precisions, log_norms, rates,
                         log_rates, lp, row, priors)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        for b in range(nb):
            n = first + b
            for k in range(n_components):
                row[k] = lp[k, b]
                nk[k] += row[k]
            for j in range(n_items):
                answer = answers[n, j]
                for k in range(n_components):
                    answer_counts[answer, k] += row[k]
            for d in range(n_continuous):
                x = continuous[n, d]
                if not math.isnan(x):
                    for k in range(n_components):
                        measured[d, k] += row[k]
                        sum_x[d, k] += row[k] * x
                        sum_xx[d, k] += row[k] * x * x
            for p in range(n_counts):
                x = counts[n, p]
                if not math.isnan(x):
                    for k in range(n_components):
                        counted[p, k] += row[k]
                        sum_counts[p, k] += row[k] * x
            if n_covariates:
                w = sample_weight[n] if weighted else 1.0
                for q in range(n_covariates):
                    z = covariates[n, q]
                    for k in range(n_components):
                        score[q, k] += z * (row[k] - w * priors[k, b])
                        for q2 in range(n_covariates):
                            zz = w * z * covariates[n, q2]
                            for k2 in range(n_components):
                                cross = -priors[k, b] * priors[k2, b]
                                if k2 == k:
                                    cross += priors[k, b]
                                information[q * n_components + k,
                                            q2 * n_components + k2] += zz * cross
    return (nk, answer_counts, measured, sum_x, sum_xx, counted, sum_counts, score,
            information, loglik, classification)


def latent_class_pass(answers, continuous, counts, covariates, sample_weight, log_weights,
                      coefficients, log_probs, means, precisions, log_norms, rates, log_rates,
                      chunk_rows=CHUNK_ROWS):
    """The statistics of :func:`latent_class_chunk` over all rows."""
    return map_add(lambda start, stop: latent_class_chunk(
        answers, continuous, counts, covariates, start, stop, sample_weight, log_weights,
        coefficients, log_probs, means, precisions, log_norms, rates, log_rates),
        answers.shape[0], chunk_rows)


@kernel(fastmath=REDUCE_FLAGS)
def latent_class_posterior_chunk(answers, continuous, counts, covariates, start, stop,
                                 log_weights, coefficients, log_probs, means, precisions,
                                 log_norms, rates, log_rates):
    """(p(k | x_n) as (stop - start, K), log p(x_n)) of rows [start, stop)."""
    n_components = log_weights.shape[0]
    priors = np.empty((n_components, BLOCK))
    n_rows = stop - start
    resp = np.empty((n_rows, n_components))
    log_density = np.empty(n_rows)
    lp, top, norm = posterior_buffers(n_components)
    row = np.empty(n_components)
    unit = np.empty(0)
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_block(answers, continuous, counts, covariates, first, nb, log_weights,
                         coefficients, log_probs, means, precisions, log_norms, rates,
                         log_rates, lp, row, priors)
        posterior_block(lp, nb, unit, first, top, norm)
        for b in range(nb):   # norm[b] is now 1 / sum_k exp(lp[k, b] - top[b])
            log_density[first - start + b] = top[b] - np.log(norm[b])
            for k in range(n_components):
                resp[first - start + b, k] = lp[k, b]
    return resp, log_density


def latent_class_posteriors(answers, continuous, counts, covariates, log_weights,
                            coefficients, log_probs, means, precisions, log_norms, rates,
                            log_rates, chunk_rows=CHUNK_ROWS):
    """(p(k | x_n) as (N, K), log p(x_n) as (N,)) of every row."""
    parts = map_chunks(lambda start, stop: latent_class_posterior_chunk(
        answers, continuous, counts, covariates, start, stop, log_weights, coefficients,
        log_probs, means, precisions, log_norms, rates, log_rates), answers.shape[0],
        chunk_rows)
    return (np.concatenate([part[0] for part in parts]),
            np.concatenate([part[1] for part in parts]))
