"""Log-space primitives: a vectorisable exp and row log-sum-exp.

``fast_exp`` computes exp(x) = 2**n * p(r), n = round(x / ln 2), r = x - n ln 2
(|r| <= ln2/2, Cody-Waite split of ln 2) with p the degree-11 polynomial interpolating
exp at the Chebyshev nodes of that interval (error < 3.2e-18, two multiply-adds fewer
than the Taylor polynomial of the same accuracy), so the result is within 2 ulp of exp(x);
inputs below -708 give 0.  2**n is built from its exponent bits.  Being branch-free
arithmetic it inlines into loops that LLVM vectorises, where ``math.exp`` is a scalar
library call.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .bits import bits_float, float_bits

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer in the low bits
_SHIFTER_BITS = 0x4338000000000000
_UNDERFLOW = -708.0
_OVERFLOW = 709.0


@kernel(fastmath={"contract"})
def fast_exp(x):
    """exp(x) within 2 ulp for x >= -708 (smaller x give 0); see the module docstring."""
    underflow = x < _UNDERFLOW
    x = min(max(x, _UNDERFLOW), _OVERFLOW)
    t = x * _LOG2E + _SHIFTER
    k = t - _SHIFTER
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 2.5110037605963777e-08
    p = p * r + 2.763263963904103e-07
    p = p * r + 2.755724091857897e-06
    p = p * r + 2.4801485482328494e-05
    p = p * r + 0.00019841269890047113
    p = p * r + 0.0013888888952314775
    p = p * r + 0.008333333333319601
    p = p * r + 0.0416666666664881
    p = p * r + 0.1666666666666668
    p = p * r + 0.5000000000000019
    p = p * r + 1.0
    p = p * r + 1.0
    two_to_k = bits_float((float_bits(t) - _SHIFTER_BITS + 1023) << 52)
    return 0.0 if underflow else p * two_to_k


_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
_SQRT2 = 1.4142135623730951
_LN2 = 0.6931471805599453


@kernel(fastmath={"contract"})
def fast_log(x):
    """log(x) within 2 ulp for positive normal x: x = m 2^e, m in [sqrt(1/2), sqrt(2)),
    log x = e ln 2 + 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.172, atanh by its odd
    series to s^23 (truncation < 1e-18).  Branch-free, so it vectorises like fast_exp."""
    bits = float_bits(x)
    e = float((bits >> 52) - 1023)
    m = bits_float((bits & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 23.0
    p = p * z + 1.0 / 21.0
    p = p * z + 1.0 / 19.0
    p = p * z + 1.0 / 17.0
    p = p * z + 1.0 / 15.0
    p = p * z + 1.0 / 13.0
    p = p * z + 1.0 / 11.0
    p = p * z + 1.0 / 9.0
    p = p * z + 1.0 / 7.0
    p = p * z + 1.0 / 5.0
    p = p * z + 1.0 / 3.0
    p = p * z + 1.0
    return e * _LN2 + 2.0 * s * p


@kernel()
def log_inplace(values):
    """values[i] <- log(values[i]) for positive normal float64 values."""
    for i in range(values.shape[0]):
        values[i] = fast_log(values[i])


@kernel()
def exp_inplace(values):
    """values[i] <- exp(values[i]) for a 1-D contiguous float64 array."""
    for i in range(values.shape[0]):
        values[i] = fast_exp(values[i])


@kernel()
def logsumexp_rows(log_values):
    """out[n] = log sum_k exp(log_values[n, k]); rows of -inf give -inf."""
    n_rows, n_cols = log_values.shape
    out = np.empty(n_rows)
    for i in range(n_rows):
        top = -np.inf
        for k in range(n_cols):
            top = max(top, log_values[i, k])
        if top == -np.inf or top == np.inf:
            out[i] = top
            continue
        total = 0.0
        for k in range(n_cols):
            total += math.exp(log_values[i, k] - top)
        out[i] = top + math.log(total)
    return out


@kernel()
def normalize_log_rows(log_values):
    """Turn log-joint rows into log-posteriors in place; return the row log-sum-exp."""
    norm = logsumexp_rows(log_values)
    n_rows, n_cols = log_values.shape
    for i in range(n_rows):
        for k in range(n_cols):
            log_values[i, k] -= norm[i]
    return norm


BLOCK = 256


@kernel(fastmath=REDUCE_FLAGS)
def softmax_inplace(values, n):
    """values[:n] <- exp(values - logsumexp(values)) (a posterior); return the log-sum-exp.
    When every value is -inf the posterior is all zeros and -inf is returned."""
    top = -np.inf
    for j in range(n):
        top = max(top, values[j])
    if top == -np.inf:
        values[:n] = 0.0
        return -np.inf
    total = 0.0
    for j in range(n):
        values[j] = fast_exp(values[j] - top)
        total += values[j]
    scale = 1.0 / total
    for j in range(n):
        values[j] *= scale
    return top + math.log(total)


@kernel(inline="always")
def posterior_buffers(n_components):
    """Scratch for :func:`posterior_block`: (lp (K, BLOCK), top, norm)."""
    return np.empty((n_components, BLOCK)), np.empty(BLOCK), np.empty(BLOCK)


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def add_row_totals(resp, nb, nk):
    """nk[k] += sum_b resp[k, b] over the first nb columns."""
    for k in range(resp.shape[0]):
        total = 0.0
        row = resp[k]
        for b in range(nb):
            total += row[b]
        nk[k] += total


@kernel(fastmath=REDUCE_FLAGS)
def posterior_block(lp, nb, sample_weight, start, top, norm):
    """Turn a block of log-joints lp[k, b] (b < nb) into weighted responsibilities
    w_b p(k | x_b) in place; return (sum_b w_b log p(x_b), sum_b w_b log s_b) where
    s_b = 1 / max_k p(k | x_b), the classification term of ICL.  sample_weight is indexed
    from ``start`` (empty = unit weights); top and norm are scratch rows of length >= nb."""
    n_components = lp.shape[0]
    for b in range(nb):
        top[b] = -np.inf
    for k in range(n_components):
        for b in range(nb):
            top[b] = max(top[b], lp[k, b])
    for b in range(nb):
        norm[b] = 0.0
    for k in range(n_components):
        row = lp[k]
        for b in range(nb):
            value = fast_exp(row[b] - top[b])
            row[b] = value
            norm[b] += value
    weighted = sample_weight.shape[0] > 0
    loglik = 0.0
    classification = 0.0
    # Pure reductions, with no store in the loop: LLVM then needs no run-time alias check,
    # whose address-dependent outcome (vector or scalar loop) would change the summation
    # order from run to run and break bitwise reproducibility across threads.
    for b in range(nb):
        w = sample_weight[start + b] if weighted else 1.0
        log_norm = fast_log(norm[b])
        loglik += w * (top[b] + log_norm)
        classification += w * log_norm
    for b in range(nb):
        norm[b] = (sample_weight[start + b] if weighted else 1.0) / norm[b]
    for k in range(n_components):
        for b in range(nb):
            lp[k, b] *= norm[b]
    return loglik, classification
