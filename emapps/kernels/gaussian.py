"""Gaussian mixture kernels: log-densities and one fused E/M-statistics pass.

Rows are processed in blocks transposed to (D, B) so every inner loop runs over
contiguous samples and vectorises.  Precisions are Cholesky factors ``P`` with
Sigma^-1 = P P^T (upper-triangular, as scikit-learn stores them), so

    log N(x | mu, Sigma) = sum_j log P_jj - D/2 log(2 pi) - 1/2 ||(x - mu)^T P||^2.

Sufficient statistics are centred on the current means (``shift``) for accuracy:
N_k = sum r_nk, S_k = sum r_nk (x_n - mu_k), Q_k = sum r_nk (x_n - mu_k)(x_n - mu_k)^T.
Parallel passes split rows into fixed chunks of ``chunk_rows`` and add the chunk
totals in chunk order, so the result is bitwise identical at any thread count.
"""

import math

import numpy as np
from numba import prange

from ._jit import REDUCE_FLAGS, kernel
from .chunks import n_chunks, sum_chunks
from .logspace import posterior_block

BLOCK = 256
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@kernel(fastmath=REDUCE_FLAGS)
def _load_block(X, start, nb, xt):
    """xt[:, :nb] <- X[start:start + nb].T as float64."""
    for b in range(nb):
        for i in range(X.shape[1]):
            xt[i, b] = X[start + b, i]


@kernel(fastmath=REDUCE_FLAGS)
def _center(xt, nb, mean, xc):
    for i in range(xt.shape[0]):
        mu = mean[i]
        for b in range(nb):
            xc[i, b] = xt[i, b] - mu


@kernel(fastmath=REDUCE_FLAGS)
def log_normalizers(log_weights, prec_diag_logs):
    """const_k = log w_k + sum_j log P_kjj - D/2 log 2 pi (prec_diag_logs summed per k)."""
    n_components, n_features = prec_diag_logs.shape
    out = np.empty(n_components)
    for k in range(n_components):
        total = log_weights[k] - n_features * _HALF_LOG_2PI
        for j in range(n_features):
            total += prec_diag_logs[k, j]
        out[k] = total
    return out


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_full(xt, nb, means, prec_chol, const, lp, xc, y, sq):
    """lp[k, b] = const_k - 1/2 ||(x_b - mu_k)^T P_k||^2 for a block."""
    n_components, n_features = means.shape
    for k in range(n_components):
        _center(xt, nb, means[k], xc)
        for b in range(nb):
            sq[b] = 0.0
        for j in range(n_features):
            pjj = prec_chol[k, j, j]
            for b in range(nb):
                y[b] = xc[j, b] * pjj
            for i in range(j):
                pij = prec_chol[k, i, j]
                for b in range(nb):
                    y[b] += xc[i, b] * pij
            for b in range(nb):
                sq[b] += y[b] * y[b]
        for b in range(nb):
            lp[k, b] = const[k] - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_diag(xt, nb, means, prec_sqrt, const, lp, xc, sq):
    """lp[k, b] = const_k - 1/2 sum_i ((x_bi - mu_ki) p_ki)^2 for a block."""
    n_components, n_features = means.shape
    for k in range(n_components):
        for b in range(nb):
            sq[b] = 0.0
        for i in range(n_features):
            mu = means[k, i]
            p = prec_sqrt[k, i]
            for b in range(nb):
                z = (xt[i, b] - mu) * p
                sq[b] += z * z
        for b in range(nb):
            lp[k, b] = const[k] - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_full(xt, nb, shift, resp, xc, t, nk, sx, sxx):
    """Add sum_b r_kb, sum_b r_kb xc_b and upper(sum_b r_kb xc_b xc_b^T) for a block."""
    n_components, n_features = shift.shape
    for k in range(n_components):
        _center(xt, nb, shift[k], xc)
        total = 0.0
        for b in range(nb):
            total += resp[k, b]
        nk[k] += total
        for i in range(n_features):
            first = 0.0
            for b in range(nb):
                t[b] = resp[k, b] * xc[i, b]
                first += t[b]
            sx[k, i] += first
            for j in range(i, n_features):
                second = 0.0
                for b in range(nb):
                    second += t[b] * xc[j, b]
                sxx[k, i, j] += second


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_diag(xt, nb, shift, resp, nk, sx, sxx):
    """Add sum_b r_kb, sum_b r_kb xc_b and sum_b r_kb xc_b**2 (per feature) for a block."""
    n_components, n_features = shift.shape
    for k in range(n_components):
        total = 0.0
        for b in range(nb):
            total += resp[k, b]
        nk[k] += total
        for i in range(n_features):
            mu = shift[k, i]
            first = 0.0
            second = 0.0
            for b in range(nb):
                z = xt[i, b] - mu
                rz = resp[k, b] * z
                first += rz
                second += rz * z
            sx[k, i] += first
            sxx[k, i] += second


@kernel()
def _mirror_upper(sxx):
    for k in range(sxx.shape[0]):
        for i in range(sxx.shape[1]):
            for j in range(i):
                sxx[k, i, j] = sxx[k, j, i]


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def gaussian_pass_full(X, sample_weight, log_weights, means, prec_chol, chunk_rows):
    """One fused E-step for full precisions: (N_k, S_k, Q_k, log-likelihood).

    sample_weight is empty for unit weights.  Statistics are centred on ``means``.
    """
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    diag_logs = np.empty((n_components, n_features))
    for k in range(n_components):
        for j in range(n_features):
            diag_logs[k, j] = math.log(prec_chol[k, j, j])
    const = log_normalizers(log_weights, diag_logs)
    count = n_chunks(n_rows, chunk_rows)
    nk_c = np.zeros((count, n_components))
    sx_c = np.zeros((count, n_components, n_features))
    sxx_c = np.zeros((count, n_components, n_features, n_features))
    ll_c = np.zeros(count)
    for c in prange(count):
        xt = np.empty((n_features, BLOCK))
        xc = np.empty((n_features, BLOCK))
        lp = np.empty((n_components, BLOCK))
        y = np.empty(BLOCK)
        sq = np.empty(BLOCK)
        top = np.empty(BLOCK)
        norm = np.empty(BLOCK)
        scratch = np.empty(BLOCK)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK):
            nb = min(BLOCK, stop - start)
            _load_block(X, start, nb, xt)
            _log_joint_full(xt, nb, means, prec_chol, const, lp, xc, y, sq)
            ll_c[c] += posterior_block(lp, nb, sample_weight, start, top, norm, scratch)
            _accumulate_full(xt, nb, means, lp, xc, y, nk_c[c], sx_c[c], sxx_c[c])
    nk, sx, sxx, loglik = sum_chunks(nk_c, sx_c, sxx_c, ll_c)
    _mirror_upper(sxx)
    return nk, sx, sxx, loglik


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def gaussian_pass_diag(X, sample_weight, log_weights, means, prec_sqrt, chunk_rows):
    """One fused E-step for diagonal precisions (prec_sqrt = 1/sigma, shape (K, D)):
    (N_k, S_k, diag Q_k, log-likelihood), centred on ``means``."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    const = log_normalizers(log_weights, np.log(prec_sqrt))
    count = n_chunks(n_rows, chunk_rows)
    nk_c = np.zeros((count, n_components))
    sx_c = np.zeros((count, n_components, n_features))
    sxx_c = np.zeros((count, n_components, n_features))
    ll_c = np.zeros(count)
    for c in prange(count):
        xt = np.empty((n_features, BLOCK))
        lp = np.empty((n_components, BLOCK))
        xc = np.empty((n_features, BLOCK))
        sq = np.empty(BLOCK)
        top = np.empty(BLOCK)
        norm = np.empty(BLOCK)
        scratch = np.empty(BLOCK)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK):
            nb = min(BLOCK, stop - start)
            _load_block(X, start, nb, xt)
            _log_joint_diag(xt, nb, means, prec_sqrt, const, lp, xc, sq)
            ll_c[c] += posterior_block(lp, nb, sample_weight, start, top, norm, scratch)
            _accumulate_diag(xt, nb, means, lp, nk_c[c], sx_c[c], sxx_c[c])
    return sum_chunks(nk_c, sx_c, sxx_c, ll_c)


@kernel(fastmath=REDUCE_FLAGS)
def _full_const(log_weights, prec_chol):
    n_components, n_features = prec_chol.shape[0], prec_chol.shape[1]
    diag_logs = np.empty((n_components, n_features))
    for k in range(n_components):
        for j in range(n_features):
            diag_logs[k, j] = math.log(prec_chol[k, j, j])
    return log_normalizers(log_weights, diag_logs)


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def gaussian_log_joint_full(X, log_weights, means, prec_chol):
    """out[n, k] = log w_k + log N(x_n | mu_k, (P_k P_k^T)^-1)."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    const = _full_const(log_weights, prec_chol)
    out = np.empty((n_rows, n_components))
    n_blocks = n_chunks(n_rows, BLOCK)
    for c in prange(n_blocks):
        xt = np.empty((n_features, BLOCK))
        xc = np.empty((n_features, BLOCK))
        lp = np.empty((n_components, BLOCK))
        y = np.empty(BLOCK)
        sq = np.empty(BLOCK)
        start = c * BLOCK
        nb = min(BLOCK, n_rows - start)
        _load_block(X, start, nb, xt)
        _log_joint_full(xt, nb, means, prec_chol, const, lp, xc, y, sq)
        for b in range(nb):
            for k in range(n_components):
                out[start + b, k] = lp[k, b]
    return out


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def gaussian_log_joint_diag(X, log_weights, means, prec_sqrt):
    """out[n, k] = log w_k + log N(x_n | mu_k, diag(1 / prec_sqrt_k**2))."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    const = log_normalizers(log_weights, np.log(prec_sqrt))
    out = np.empty((n_rows, n_components))
    n_blocks = n_chunks(n_rows, BLOCK)
    for c in prange(n_blocks):
        xt = np.empty((n_features, BLOCK))
        xc = np.empty((n_features, BLOCK))
        lp = np.empty((n_components, BLOCK))
        sq = np.empty(BLOCK)
        start = c * BLOCK
        nb = min(BLOCK, n_rows - start)
        _load_block(X, start, nb, xt)
        _log_joint_diag(xt, nb, means, prec_sqrt, const, lp, xc, sq)
        for b in range(nb):
            for k in range(n_components):
                out[start + b, k] = lp[k, b]
    return out


@kernel(parallel=True, fastmath=REDUCE_FLAGS)
def weighted_moments(X, resp, shift, full, chunk_rows):
    """(N_k, S_k, Q_k) from given responsibilities resp (N, K), centred on shift (K, D).

    Q_k is (K, D, D) when ``full`` else the (K, D) diagonal.
    """
    n_rows, n_features = X.shape
    n_components = resp.shape[1]
    count = n_chunks(n_rows, chunk_rows)
    nk_c = np.zeros((count, n_components))
    sx_c = np.zeros((count, n_components, n_features))
    dd = n_features if full else 1
    sxx_c = np.zeros((count, n_components, n_features, dd))
    ll_c = np.zeros(count)
    for c in prange(count):
        xt = np.empty((n_features, BLOCK))
        xc = np.empty((n_features, BLOCK))
        rt = np.empty((n_components, BLOCK))
        t = np.empty(BLOCK)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK):
            nb = min(BLOCK, stop - start)
            _load_block(X, start, nb, xt)
            _load_block(resp, start, nb, rt)
            if full:
                _accumulate_full(xt, nb, shift, rt, xc, t, nk_c[c], sx_c[c], sxx_c[c])
            else:
                _accumulate_diag(xt, nb, shift, rt, nk_c[c], sx_c[c], sxx_c[c][:, :, 0])
    nk, sx, sxx, _ = sum_chunks(nk_c, sx_c, sxx_c, ll_c)
    if full:
        _mirror_upper(sxx)
    return nk, sx, sxx
