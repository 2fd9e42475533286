"""Kernels of the admixture model over 2-bit packed genotypes (PLINK .bed, SNP-major).

Genotype g_ij (copies of allele A1, 0-2, or missing) ~ Binomial(2, p_ij), p_ij =
sum_k q_ik f_jk.  One pass over a range of SNPs gives the EM statistics (Alexander et
al. 2009; Frichot et al. 2014): with x = g / p and y = (2 - g) / (1 - p),
q_num[k, i] = sum_j f_jk x + (1 - f_jk) y, f_num[j, k] = f_jk sum_i q_ik x and f_den[j, k]
= f_num[j, k] + (1 - f_jk) sum_i q_ik y, and the log-likelihood sum of g log p + (2 - g)
log(1 - p) over the observed calls.  Q is held transposed (K, N) so every loop over
individuals runs over contiguous memory and vectorises.

Cross-validation holds out calls without copying the genotypes: call (i, j) belongs to
fold ``splitmix64(j N + i + key) % n_folds``; a pass may leave one fold out (``fold``)
or score only it.
"""

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .bits import bits_float, float_bits

#: a .bed code's A1 count: 0b00 A1/A1 (2), 0b01 missing, 0b10 A1/A2 (1), 0b11 A2/A2 (0)
#: calls whose likelihood terms are multiplied before the product's exponent is set
#: aside (each term is at least 1e-10 with frequencies kept in [1e-5, 1 - 1e-5], so the
#: product of 16 of them and a mantissa stays normal)
TERMS_PER_LOG = 16
MANTISSA_BITS = np.int64((1 << 52) - 1)
ONE_EXPONENT = np.int64(1023 << 52)
LN2 = np.log(2.0)


@kernel()
def _fold_of(i, j, n, key, n_folds):
    z = np.uint64(j * n + i) + np.uint64(key)
    z = (z + np.uint64(0x9E3779B97F4A7C15))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z % np.uint64(n_folds))


@kernel(fastmath=REDUCE_FLAGS)
def _decode(packed, j, snp, n, codes, g, w, key, n_folds, fold, keep_fold):
    """SNP j's calls as A1 counts ``g`` and weights ``w`` (1 observed, 0 missing or held
    out: with ``keep_fold`` only fold ``fold`` counts, else every fold but it; ``snp``
    is its index in the whole panel, which names the folds); ``codes`` is scratch of
    ceil(n / 4) * 4 bytes."""
    for b in range(packed.shape[1]):
        byte = packed[j, b]
        codes[4 * b] = byte & 3
        codes[4 * b + 1] = (byte >> 2) & 3
        codes[4 * b + 2] = (byte >> 4) & 3
        codes[4 * b + 3] = byte >> 6
    for i in range(n):
        code = codes[i]
        g[i] = (2.0 if code == 0 else 0.0) + (1.0 if code == 2 else 0.0)
        w[i] = 0.0 if code == 1 else 1.0
    if fold >= 0:
        for i in range(n):
            inside = _fold_of(i, snp, n, key, n_folds) == fold
            if inside != keep_fold:
                w[i] = 0.0


@kernel(fastmath=REDUCE_FLAGS)
def _mix(q_t, f, j, p, n):
    """p[i] = sum_k q_ik f_jk: each individual's A1 frequency at SNP j."""
    for i in range(n):
        p[i] = 0.0
    for k in range(q_t.shape[0]):
        fk = f[j, k]
        for i in range(n):
            p[i] += q_t[k, i] * fk


@kernel()
def _split_exponent(value):
    """(mantissa in [1, 2), binary exponent) of a positive normal float64."""
    bits = float_bits(value)
    exponent = ((bits >> 52) & 0x7FF) - 1023
    return bits_float((bits & MANTISSA_BITS) | ONE_EXPONENT), exponent


@kernel(fastmath=REDUCE_FLAGS)
def _log_terms(p, g, w, n):
    """sum over observed calls of g log p + (2 - g) log(1 - p): the terms p^g (1 -
    p)^(2 - g) multiplied TERMS_PER_LOG at a time, the product's binary exponent set
    aside after each group, and one log taken at the end."""
    mantissa, exponent = 1.0, 0
    for start in range(0, n, TERMS_PER_LOG):
        product = 1.0
        for i in range(start, min(n, start + TERMS_PER_LOG)):
            pi = p[i]
            first = pi if g[i] >= 1.0 else 1.0 - pi
            second = pi if g[i] >= 2.0 else 1.0 - pi
            product *= w[i] * (first * second) + (1.0 - w[i])
        mantissa, shift = _split_exponent(mantissa * product)
        exponent += shift
    return np.log(mantissa) + exponent * LN2


@kernel(fastmath=REDUCE_FLAGS)
def admixture_statistics(packed, n, start, stop, first, q_t, f, key, n_folds, fold, with_f,
                         q_num, observed_calls, f_num, f_den):
    """EM statistics of rows start..stop-1 of ``packed`` (and of ``f``; SNPs first +
    start.. of the panel) (see the module): adds to q_num (K, N) and observed_calls
    (N,), writes f_num and f_den rows start..stop-1 when ``with_f``; returns the
    log-likelihood.  ``fold`` >= 0 leaves that fold's calls out."""
    n_components = q_t.shape[0]
    g, w = np.empty(n), np.empty(n)
    codes = np.empty(4 * packed.shape[1], dtype=np.uint8)
    p, x, y = np.empty(n), np.empty(n), np.empty(n)
    loglik = 0.0
    for j in range(start, stop):
        _decode(packed, j, first + j, n, codes, g, w, key, n_folds, fold, False)
        _mix(q_t, f, j, p, n)
        for i in range(n):
            x[i] = w[i] * g[i] / p[i]
            y[i] = w[i] * (2.0 - g[i]) / (1.0 - p[i])
            observed_calls[i] += w[i]
        loglik += _log_terms(p, g, w, n)
        for k in range(n_components):
            fk = f[j, k]
            a, b = 0.0, 0.0
            for i in range(n):
                a += q_t[k, i] * x[i]
                b += q_t[k, i] * y[i]
                q_num[k, i] += fk * x[i] + (1.0 - fk) * y[i]
            if with_f:
                f_num[j, k] = fk * a
                f_den[j, k] = fk * a + (1.0 - fk) * b
    return loglik


@kernel(fastmath=REDUCE_FLAGS)
def heldout_deviance(packed, n, start, stop, first, q_t, f, key, n_folds, fold):
    """(sum of the deviance residuals d(g, 2p) = g log(g / 2p) + (2 - g) log((2 - g) /
    (2 - 2p)) over fold ``fold``'s observed calls of rows start..stop-1 (SNPs first +
    start..), their count): ADMIXTURE's cross-validation error."""
    g, w, p = np.empty(n), np.empty(n), np.empty(n)
    codes = np.empty(4 * packed.shape[1], dtype=np.uint8)
    total, count = 0.0, 0.0
    for j in range(start, stop):
        _decode(packed, j, first + j, n, codes, g, w, key, n_folds, fold, True)
        _mix(q_t, f, j, p, n)
        for i in range(n):
            if w[i] > 0.0:
                mean = 2.0 * p[i]
                if g[i] > 0.0:
                    total += g[i] * np.log(g[i] / mean)
                if g[i] < 2.0:
                    total += (2.0 - g[i]) * np.log((2.0 - g[i]) / (2.0 - mean))
                count += 1.0
    return total, count


@kernel()
def call_counts(packed, n, start, stop, per_sample, per_snp):
    """Observed calls per individual (added to ``per_sample``) and, per SNP
    start..stop-1, (observed calls, A1 copies) in ``per_snp`` rows."""
    g, w = np.empty(n), np.empty(n)
    codes = np.empty(4 * packed.shape[1], dtype=np.uint8)
    for j in range(start, stop):
        _decode(packed, j, j, n, codes, g, w, 0, 1, -1, False)
        observed, copies = 0.0, 0.0
        for i in range(n):
            per_sample[i] += w[i]
            observed += w[i]
            copies += w[i] * g[i]
        per_snp[j, 0] = observed
        per_snp[j, 1] = copies


@kernel(fastmath=REDUCE_FLAGS)
def weighted_frequencies(packed, n, start, stop, q_t, out):
    """out[j, k] = sum_i q_ik g_ij / (2 sum_i q_ik over observed calls) for SNPs
    start..stop-1: each component's A1 frequency when Q weighs the individuals."""
    n_components = q_t.shape[0]
    g, w = np.empty(n), np.empty(n)
    codes = np.empty(4 * packed.shape[1], dtype=np.uint8)
    for j in range(start, stop):
        _decode(packed, j, j, n, codes, g, w, 0, 1, -1, False)
        for k in range(n_components):
            copies, calls = 0.0, 0.0
            for i in range(n):
                copies += q_t[k, i] * w[i] * g[i]
                calls += q_t[k, i] * w[i]
            out[j, k] = copies / max(2.0 * calls, 1e-300)
