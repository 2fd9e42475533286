"""HMM forward-backward in scaled space for a batch of sequences.

alpha_t(j) = p(z_t = j | x_1..t) with c_t = p(x_t | x_1..t-1), so log L = sum_t log c_t;
beta is scaled by the same c_t, gamma_t = alpha_t beta_t and
xi_t(i, j) = alpha_{t-1}(i) A_ij e_t(j) beta_t(j) / c_t.  Emissions come as logs and
are exponentiated after subtracting each row's maximum (added back to log L), so no
probability underflows.  Sequences are split into fixed groups that run on threads;
their totals add in group order.
"""

import math

import numpy as np

from ._jit import kernel
from .parallel import map_add

SEQUENCES_PER_CHUNK = 16


@kernel()
def _sequence(start, trans, log_emit, gamma, xi, first):
    """Forward-backward for one sequence; fills gamma (T, S), adds into xi and first;
    returns its log-likelihood."""
    n_steps, n_states = log_emit.shape
    emit = np.empty((n_steps, n_states))
    loglik = 0.0
    for t in range(n_steps):
        top = -np.inf
        for j in range(n_states):
            top = max(top, log_emit[t, j])
        for j in range(n_states):
            emit[t, j] = math.exp(log_emit[t, j] - top)
        loglik += top
    alpha = np.empty((n_steps, n_states))
    scale = np.empty(n_steps)
    total = 0.0
    for j in range(n_states):
        alpha[0, j] = start[j] * emit[0, j]
        total += alpha[0, j]
    scale[0] = total
    for j in range(n_states):
        alpha[0, j] /= total
    for t in range(1, n_steps):
        total = 0.0
        for j in range(n_states):
            value = 0.0
            for i in range(n_states):
                value += alpha[t - 1, i] * trans[i, j]
            alpha[t, j] = value * emit[t, j]
            total += alpha[t, j]
        scale[t] = total
        for j in range(n_states):
            alpha[t, j] /= total
    beta = np.ones(n_states)
    previous = np.empty(n_states)
    for j in range(n_states):
        gamma[n_steps - 1, j] = alpha[n_steps - 1, j]
    for t in range(n_steps - 1, 0, -1):
        for j in range(n_states):
            previous[j] = emit[t, j] * beta[j] / scale[t]
        for i in range(n_states):
            value = 0.0
            for j in range(n_states):
                step = trans[i, j] * previous[j]
                xi[i, j] += alpha[t - 1, i] * step
                value += step
            beta[i] = value
        for i in range(n_states):
            gamma[t - 1, i] = alpha[t - 1, i] * beta[i]
    for j in range(n_states):
        first[j] += gamma[0, j]
    for t in range(n_steps):
        loglik += math.log(scale[t])
    return loglik


@kernel()
def hmm_sequences_chunk(start, trans, log_emit, offsets, first_seq, stop_seq, gamma):
    """Forward-backward for sequences [first_seq, stop_seq), rows offsets[s]:offsets[s+1]
    of log_emit; writes their rows of gamma, returns (sum xi, sum first states, log L)."""
    n_states = trans.shape[0]
    xi = np.zeros((n_states, n_states))
    first = np.zeros(n_states)
    loglik = 0.0
    for s in range(first_seq, stop_seq):
        a, b = offsets[s], offsets[s + 1]
        if b > a:
            loglik += _sequence(start, trans, log_emit[a:b], gamma[a:b], xi, first)
    return xi, first, loglik


def hmm_forward_backward(start, trans, log_emit, lengths):
    """Posteriors for sequences stacked in log_emit (sum(lengths), S).

    Returns (gamma (T, S), expected transitions sum_t xi_t (S, S), expected first states
    (S,), total log-likelihood).  A zero-length sequence contributes nothing.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    gamma = np.zeros((int(offsets[-1]), trans.shape[0]))
    xi, first, loglik = map_add(
        lambda a, b: hmm_sequences_chunk(start, trans, log_emit, offsets, a, b, gamma),
        len(lengths), SEQUENCES_PER_CHUNK)
    return gamma, xi, first, loglik
