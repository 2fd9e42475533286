"""Mean-field and ICM updates of a Potts field on an image grid.

Sites are the pixels of an H x W grid stored row-major: site i = r * W + c, and
``q`` (H*W, K) holds each site's label distribution.  The objective (mean-field free
energy with the partition function left out) is

    J(q) = sum_i sum_k q_ik u_ik + beta sum_{i~j} sum_k q_ik q_jk - sum_i sum_k q_ik log q_ik

with u the unary log-terms (log pi_k + log p(x_i | k)).  A sweep returns the first and
last terms (each site's own), :func:`potts_pairs` the middle one.  Sites of one colour share no
edge (2 colours for 4-connectivity, 4 for 8-connectivity), so updating all of them at
once is exact coordinate ascent: J never decreases.  Row ranges let the driver split a
colour over threads; the result does not depend on the split.  The passes use strict
floating point: with reassociated sums, how LLVM vectorised a loop depended on where the
arrays sat in memory, and the estimated beta moved in its last digits from run to run
(measured: no time is lost without it).
"""

import math

import numpy as np

from ._jit import kernel
from .logspace import fast_exp
from .parallel import CHUNK_ROWS, map_add, map_chunks


@kernel(inline="always")
def _colour(r, c, eight):
    if eight:
        return (r % 2) * 2 + (c % 2)
    return (r + c) % 2


@kernel()
def _neighbour_sum(q, height, width, r, c, eight, out):
    """out[k] = sum over the grid neighbours j of site (r, c) of q_jk."""
    out[:] = 0.0
    K = q.shape[1]
    for dr in range(-1, 2):
        rr = r + dr
        if rr < 0 or rr >= height:
            continue
        for dc in range(-1, 2):
            if dr == 0 and dc == 0:
                continue
            if not eight and dr != 0 and dc != 0:
                continue
            cc = c + dc
            if cc < 0 or cc >= width:
                continue
            j = rr * width + cc
            for k in range(K):
                out[k] += q[j, k]


@kernel()
def potts_update_rows(log_unary, q, height, width, beta, eight, hard, colour, row_start,
                      row_stop):
    """Update the sites of one colour in rows [row_start, row_stop) in place:
    q_i = softmax(f_i), f_i = u_i + beta n_i (mean field), or its one-hot argmax
    (``hard``, ICM).  Returns (sum q_i . u_i, sum H(q_i)) over the sites updated, with
    H(q_i) = top + log S - q_i . f_i (S the softmax normaliser): one log per site."""
    K = q.shape[1]
    field = np.empty(K)
    weights = np.empty(K)
    nbr = np.empty(K)
    unary = 0.0
    entropy = 0.0
    for r in range(row_start, row_stop):
        for c in range(width):
            if _colour(r, c, eight) != colour:
                continue
            i = r * width + c
            _neighbour_sum(q, height, width, r, c, eight, nbr)
            top = -np.inf
            best = 0
            for k in range(K):
                field[k] = log_unary[i, k] + beta * nbr[k]
                if field[k] > top:
                    top = field[k]
                    best = k
            if hard:
                for k in range(K):
                    q[i, k] = 0.0
                q[i, best] = 1.0
                unary += log_unary[i, best]
                continue
            total = 0.0
            for k in range(K):
                weights[k] = fast_exp(field[k] - top)
                total += weights[k]
            for k in range(K):
                q[i, k] = weights[k] / total
            expected_field = 0.0
            for k in range(K):  # store-free reductions: no address-dependent alias check
                unary += q[i, k] * log_unary[i, k]
                expected_field += q[i, k] * field[k]
            entropy += top + math.log(total) - expected_field
    return unary, entropy


@kernel()
def potts_pairs_rows(q, height, width, eight, row_start, row_stop):
    """sum over grid edges of q_i . q_j, each edge counted once from its upper or left end."""
    K = q.shape[1]
    pairs = 0.0
    for r in range(row_start, row_stop):
        for c in range(width):
            i = r * width + c
            if c + 1 < width:
                for k in range(K):
                    pairs += q[i, k] * q[i + 1, k]
            if r + 1 < height:
                j = i + width
                for k in range(K):
                    pairs += q[i, k] * q[j, k]
                if eight:
                    if c + 1 < width:
                        for k in range(K):
                            pairs += q[i, k] * q[j + 1, k]
                    if c > 0:
                        for k in range(K):
                            pairs += q[i, k] * q[j - 1, k]
    return pairs


@kernel()
def neighbour_sums_rows(q, height, width, eight, row_start, row_stop, out):
    """out[i] = sum over the grid neighbours j of site i of q_j, for rows given."""
    for r in range(row_start, row_stop):
        for c in range(width):
            _neighbour_sum(q, height, width, r, c, eight, out[r * width + c])


@kernel()
def potts_pseudo_loglik_rows(log_prior, q, nbr, beta, start, stop):
    """Mean-field pseudo-log-likelihood of beta and its first two derivatives over sites
    [start, stop): sum_i [q_i . a_i - log sum_k exp(a_ik)], a_ik = log pi_k + beta n_ik,
    with n = neighbour sums of q (see :func:`neighbour_sums_rows`)."""
    K = q.shape[1]
    a = np.empty(K)
    weights = np.empty(K)
    value = 0.0
    grad = 0.0
    hess = 0.0
    for i in range(start, stop):
        top = -np.inf
        for k in range(K):
            a[k] = log_prior[k] + beta * nbr[i, k]
            top = max(top, a[k])
        total = 0.0
        for k in range(K):
            weights[k] = fast_exp(a[k] - top)
            total += weights[k]
        mean_n = 0.0
        mean_n2 = 0.0
        observed_n = 0.0
        for k in range(K):
            p = weights[k] / total
            mean_n += p * nbr[i, k]
            mean_n2 += p * nbr[i, k] * nbr[i, k]
            observed_n += q[i, k] * nbr[i, k]
            value += q[i, k] * a[k]
        value -= top + math.log(total)
        grad += observed_n - mean_n
        hess -= mean_n2 - mean_n * mean_n
    return value, grad, hess


# -- drivers: fixed row blocks on threads, totals in block order --------------------------

def colours(eight: bool) -> int:
    """Number of colour classes of the grid's independent-set partition."""
    return 4 if eight else 2


def _rows_per_block(width: int) -> int:
    return max(1, CHUNK_ROWS // max(width, 1))


def potts_sweep(log_unary, q, shape, beta, eight=False, hard=False) -> tuple[float, float]:
    """One sweep over every colour of the (H, W) grid ``shape``, updating q in place;
    returns (sum q . u, entropy of q) after the sweep (every site is updated once)."""
    height, width = shape
    unary = entropy = 0.0
    for colour in range(colours(eight)):
        part = map_add(lambda start, stop: potts_update_rows(
            log_unary, q, height, width, beta, eight, hard, colour, start, stop),
            height, _rows_per_block(width))
        unary += part[0]
        entropy += part[1]
    return unary, entropy


def potts_pairs(q, shape, eight=False) -> float:
    """sum over the grid's edges of q_i . q_j (the expected number of equal-label edges)."""
    height, width = shape
    return map_add(lambda start, stop: (potts_pairs_rows(q, height, width, eight, start, stop),),
                   height, _rows_per_block(width))[0]


def neighbour_sums(q, shape, eight=False) -> np.ndarray:
    """(H*W, K) sums of q over each site's grid neighbours."""
    height, width = shape
    out = np.empty_like(q)
    map_chunks(lambda start, stop: neighbour_sums_rows(q, height, width, eight, start, stop,
                                                       out), height, _rows_per_block(width))
    return out


def potts_pseudo_loglik(log_prior, q, nbr, beta) -> tuple[float, float, float]:
    """(value, d/d beta, d2/d beta2) of the mean-field pseudo-log-likelihood, given the
    neighbour sums ``nbr`` of q."""
    return map_add(lambda start, stop: potts_pseudo_loglik_rows(
        log_prior, q, nbr, beta, start, stop), q.shape[0])
