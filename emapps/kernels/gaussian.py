"""Gaussian mixture kernels: log-densities and one fused E/M-statistics pass.

Every inner loop runs over contiguous samples of one feature, so it vectorises.  The
fused passes (one per EM iteration) read a feature-major copy of X, ``columns`` (W, N),
made once per fit by :func:`feature_columns`: in place, with no per-iteration transpose
(at N = 1e6, D = 8 that transpose cost 6 of 44 ms).  The log-density and moment kernels
for given rows or responsibilities (predict, score, initial M-steps) transpose row-major
X block by block into (W, B) scratch instead.  Precisions are Cholesky factors ``P`` with
Sigma^-1 = P P^T (upper-triangular, as scikit-learn stores them), so

    log N(x | mu, Sigma) = sum_j log P_jj - D/2 log(2 pi) - 1/2 ||(x - mu)^T P||^2.

Sufficient statistics are centred on the current means (``shift``) for accuracy:
N_k = sum r_nk, S_k = sum r_nk (x_n - mu_k), Q_k = sum r_nk (x_n - mu_k)(x_n - mu_k)^T.

Full covariances go through block kernels of one shape, ``log_joint(xt, offset, nb,
means, prec, const, lp, y, n_features)`` and ``accumulate(xt, offset, nb, shift, resp,
t, nk, sx, sxx, n_features)`` over samples [offset, offset + nb) of a feature-major xt:
4 x 4 tiles for any D or row loops alone for 1-2 features (gaussian_tiles.py), and
kernels written out for 3, 5 and 8 features (gaussian_unrolled.py).  Each choice is its
own compiled chunk kernel (``full_chunk_*``, ``full_rows_*``), picked in Python by
:func:`_full_kernels`, so a fit compiles only the one its data needs.  The chunk kernels
work on samples [start, stop); the plain-named functions run them over fixed chunks on
threads (see parallel.py).
"""

import math
import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .gaussian_tiles import (TILE, accumulate_rows, accumulate_tiles, log_joint_rows,
                             log_joint_tiles, padded, row)
from .gaussian_unrolled import (accumulate_eight, accumulate_small, log_joint_eight,
                                log_joint_small)
from .logspace import BLOCK, add_row_totals, posterior_block, posterior_buffers
from .parallel import CHUNK_ROWS, map_add, map_chunks

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
#: rows transposed at a time by feature_columns (numpy's transposed copy of the whole
#: array runs at half the speed)
TRANSPOSE_ROWS = 4096


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _load_block(X, start, nb, xt):
    """xt[:D, :nb] <- X[start:start + nb].T as float64 (padding rows stay as they are)."""
    for b in range(nb):
        for i in range(X.shape[1]):
            xt[i, b] = X[start + b, i]


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _load_flat(flat, start, nb, xt, width):
    """xt[:width, :nb] <- rows [start, start + nb) of a flat C-order array of ``width``
    columns; a literal width at the call site gives constant-stride loads that vectorise."""
    for b in range(nb):
        base = width * (start + b)
        for i in range(width):
            xt[i, b] = flat[base + i]


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _load_features(X, start, nb, xt):
    """_load_block for a C-contiguous X, through a flat view at a literal stride for 3 and
    5 features (half the time of _load_block's; at 8 features it gains nothing)."""
    flat = X.reshape(X.shape[0] * X.shape[1])
    if X.shape[1] == 3:
        _load_flat(flat, start, nb, xt, 3)
    elif X.shape[1] == 5:
        _load_flat(flat, start, nb, xt, 5)
    else:
        _load_block(X, start, nb, xt)


@kernel(inline="always")
def _pad_means(means, n_padded):
    """(K, D) centres zero-padded to (K, Dp)."""
    n_components, n_features = means.shape
    out = np.zeros((n_components, n_padded))
    for k in range(n_components):
        for i in range(n_features):
            out[k, i] = means[k, i]
    return out


@kernel(inline="always")
def _pad_full(means, prec_chol, n_padded):
    """Means (K, Dp) and precision factors (K, Dp, Dp) zero-padded to Dp features."""
    n_components, n_features = means.shape
    prec_p = np.zeros((n_components, n_padded, n_padded))
    for k in range(n_components):
        for i in range(n_features):
            for j in range(n_features):
                prec_p[k, i, j] = prec_chol[k, i, j]
    return _pad_means(means, n_padded), prec_p


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _full_const(log_weights, prec_chol):
    """const_k = log w_k + sum_j log P_kjj - D/2 log 2 pi."""
    n_components, n_features = prec_chol.shape[0], prec_chol.shape[1]
    out = np.empty(n_components)
    for k in range(n_components):
        total = log_weights[k] - n_features * _HALF_LOG_2PI
        for j in range(n_features):
            total += math.log(prec_chol[k, j, j])
        out[k] = total
    return out


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _diag_const(log_weights, prec_sqrt):
    n_components, n_features = prec_sqrt.shape
    out = np.empty(n_components)
    for k in range(n_components):
        total = log_weights[k] - n_features * _HALF_LOG_2PI
        for j in range(n_features):
            total += math.log(prec_sqrt[k, j])
        out[k] = total
    return out


@kernel(inline="always")
def _finish_full(nk, sx, sxx, n_features):
    """Drop the padding and mirror the upper triangle of Q_k."""
    n_components = nk.shape[0]
    sx_out = np.empty((n_components, n_features))
    sxx_out = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        for i in range(n_features):
            sx_out[k, i] = sx[k, i]
            for j in range(i, n_features):
                sxx_out[k, i, j] = sxx[k, i, j]
                sxx_out[k, j, i] = sxx[k, i, j]
    return sx_out, sxx_out


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _full_chunk(columns, start, stop, sample_weight, log_weights, means, prec_chol,
                log_joint, accumulate):
    """Fused E-step for full precisions over samples [start, stop) of the feature-major
    ``columns`` (W, N), W >= D (rows past D zero): (N_k, S_k, Q_k,
    sum_n w_n log p(x_n), sum_n -w_n log max_k p(k | x_n)), centred on ``means``;
    sample_weight empty = unit weights."""
    width = columns.shape[0]
    n_components, n_features = means.shape
    means_p, prec_p = _pad_full(means, prec_chol, width)
    const = _full_const(log_weights, prec_chol)
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, width))
    sxx = np.zeros((n_components, width, width))
    t = np.empty((width, BLOCK))
    lp, top, norm = posterior_buffers(n_components)
    y = np.zeros((TILE, BLOCK))  # read (times 0) before the first write
    loglik = 0.0
    classification = 0.0
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        log_joint(columns, first, nb, means_p, prec_p, const, lp, y, n_features)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        accumulate(columns, first, nb, means_p, lp, t, nk, sx, sxx, n_features)
    sx_out, sxx_out = _finish_full(nk, sx, sxx, n_features)
    return nk, sx_out, sxx_out, loglik, classification


@kernel(fastmath=REDUCE_FLAGS)
def full_chunk_tiles(columns, start, stop, sample_weight, log_weights, means, prec_chol):
    """_full_chunk on 4 x 4 tiles (any number of features)."""
    return _full_chunk(columns, start, stop, sample_weight, log_weights, means, prec_chol,
                       log_joint_tiles, accumulate_tiles)


@kernel(fastmath=REDUCE_FLAGS)
def full_chunk_rows(columns, start, stop, sample_weight, log_weights, means, prec_chol):
    """_full_chunk by row loops (1 or 2 features)."""
    return _full_chunk(columns, start, stop, sample_weight, log_weights, means, prec_chol,
                       log_joint_rows, accumulate_rows)


@kernel(fastmath=REDUCE_FLAGS)
def full_chunk_small(columns, start, stop, sample_weight, log_weights, means, prec_chol):
    """_full_chunk for 3 or 5 features."""
    return _full_chunk(columns, start, stop, sample_weight, log_weights, means, prec_chol,
                       log_joint_small, accumulate_small)


@kernel(fastmath=REDUCE_FLAGS)
def full_chunk_eight(columns, start, stop, sample_weight, log_weights, means, prec_chol):
    """_full_chunk for 8 features."""
    return _full_chunk(columns, start, stop, sample_weight, log_weights, means, prec_chol,
                       log_joint_eight, accumulate_eight)


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_diag(xt, offset, nb, means, prec_sqrt, const, lp):
    """lp[k, b] = const_k - 1/2 sum_i ((x_bi - mu_ki) p_ki)^2 for a block."""
    n_components, n_features = means.shape
    for k in range(n_components):
        sq = lp[k]
        for b in range(nb):
            sq[b] = 0.0
        for i in range(n_features):
            mu = means[k, i]
            p = prec_sqrt[k, i]
            xi = row(xt, i, offset, nb)
            for b in range(nb):
                z = (xi[b] - mu) * p
                sq[b] += z * z
        c = const[k]
        for b in range(nb):
            sq[b] = c - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_diag(xt, offset, nb, shift, resp, nk, sx, sxx):
    """Add N_k, S_k and diag Q_k for a block."""
    n_components, n_features = shift.shape
    add_row_totals(resp, nb, nk)
    for k in range(n_components):
        r = resp[k]
        for i in range(n_features):
            mu = shift[k, i]
            xi = row(xt, i, offset, nb)
            first = 0.0
            second = 0.0
            for b in range(nb):
                z = xi[b] - mu
                rz = r[b] * z
                first += rz
                second += rz * z
            sx[k, i] += first
            sxx[k, i] += second


@kernel(fastmath=REDUCE_FLAGS)
def gaussian_chunk_diag(columns, start, stop, sample_weight, log_weights, means, prec_sqrt):
    """Fused E-step for diagonal precisions (prec_sqrt = 1/sigma, (K, D)) over samples
    [start, stop) of the feature-major ``columns`` (W >= D, N): (N_k, S_k, diag Q_k,
    sum_n w_n log p(x_n), sum_n -w_n log max_k p(k | x_n)), centred on ``means``."""
    n_components, n_features = means.shape
    const = _diag_const(log_weights, prec_sqrt)
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    sxx = np.zeros((n_components, n_features))
    lp, top, norm = posterior_buffers(n_components)
    loglik = 0.0
    classification = 0.0
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _log_joint_diag(columns, first, nb, means, prec_sqrt, const, lp)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        _accumulate_diag(columns, first, nb, means, lp, nk, sx, sxx)
    return nk, sx, sxx, loglik, classification


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _full_rows(X, start, stop, log_weights, means, prec_chol, out, width, load, log_joint):
    """out[n, k] = log w_k + log N(x_n | mu_k, (P_k P_k^T)^-1) for rows [start, stop)."""
    n_features = X.shape[1]
    n_components = means.shape[0]
    means_p, prec_p = _pad_full(means, prec_chol, width)
    const = _full_const(log_weights, prec_chol)
    xt = np.zeros((width, BLOCK))
    lp = np.empty((n_components, BLOCK))
    y = np.zeros((TILE, BLOCK))  # read (times 0) before the first write
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        load(X, first, nb, xt)
        log_joint(xt, 0, nb, means_p, prec_p, const, lp, y, n_features)
        for b in range(nb):
            for k in range(n_components):
                out[first + b, k] = lp[k, b]


@kernel(fastmath=REDUCE_FLAGS)
def full_rows_tiles(X, start, stop, log_weights, means, prec_chol, out):
    """_full_rows on 4 x 4 tiles (any number of features)."""
    _full_rows(X, start, stop, log_weights, means, prec_chol, out, padded(X.shape[1]),
               _load_block, log_joint_tiles)


@kernel(fastmath=REDUCE_FLAGS)
def full_rows_rows(X, start, stop, log_weights, means, prec_chol, out):
    """_full_rows by row loops (1 or 2 features)."""
    _full_rows(X, start, stop, log_weights, means, prec_chol, out, X.shape[1], _load_block,
               log_joint_rows)


@kernel(fastmath=REDUCE_FLAGS)
def full_rows_small(X, start, stop, log_weights, means, prec_chol, out):
    """_full_rows for 3 or 5 features."""
    _full_rows(X, start, stop, log_weights, means, prec_chol, out, X.shape[1],
               _load_features, log_joint_small)


@kernel(fastmath=REDUCE_FLAGS)
def full_rows_eight(X, start, stop, log_weights, means, prec_chol, out):
    """_full_rows for 8 features."""
    _full_rows(X, start, stop, log_weights, means, prec_chol, out, 8, _load_block,
               log_joint_eight)


@kernel(fastmath=REDUCE_FLAGS)
def log_joint_diag_rows(X, start, stop, log_weights, means, prec_sqrt, out):
    """out[n, k] = log w_k + log N(x_n | mu_k, diag(1 / prec_sqrt_k**2)) for [start, stop)."""
    n_features = X.shape[1]
    n_components = means.shape[0]
    const = _diag_const(log_weights, prec_sqrt)
    xt = np.empty((n_features, BLOCK))
    lp = np.empty((n_components, BLOCK))
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _load_features(X, first, nb, xt)
        _log_joint_diag(xt, 0, nb, means, prec_sqrt, const, lp)
        for b in range(nb):
            for k in range(n_components):
                out[first + b, k] = lp[k, b]


@kernel(fastmath=REDUCE_FLAGS)
def moments_full_chunk(X, start, stop, resp, shift):
    """(N_k, S_k, Q_k) of given responsibilities (N, K) over rows [start, stop)."""
    n_features = X.shape[1]
    n_components = resp.shape[1]
    n_padded = padded(n_features)
    shift_p = _pad_means(shift, n_padded)
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_padded))
    sxx = np.zeros((n_components, n_padded, n_padded))
    xt = np.zeros((n_padded, BLOCK))
    t = np.empty((n_padded, BLOCK))
    rt = np.empty((n_components, BLOCK))
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _load_block(X, first, nb, xt)
        _load_block(resp, first, nb, rt)
        accumulate_tiles(xt, 0, nb, shift_p, rt, t, nk, sx, sxx, n_features)
    sx_out, sxx_out = _finish_full(nk, sx, sxx, n_features)
    return nk, sx_out, sxx_out


@kernel(fastmath=REDUCE_FLAGS)
def moments_diag_chunk(X, start, stop, resp, shift):
    """(N_k, S_k, diag Q_k) of given responsibilities over rows [start, stop)."""
    n_features = X.shape[1]
    n_components = resp.shape[1]
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    sxx = np.zeros((n_components, n_features))
    xt = np.empty((n_features, BLOCK))
    rt = np.empty((n_components, BLOCK))
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _load_block(X, first, nb, xt)
        _load_block(resp, first, nb, rt)
        _accumulate_diag(xt, 0, nb, shift, rt, nk, sx, sxx)
    return nk, sx, sxx


# -- drivers: fixed chunks on threads, totals in chunk order ----------------------------

#: full-covariance (chunk, rows) kernels by number of features; tiles for the rest
_FULL_KERNELS = {1: (full_chunk_rows, full_rows_rows), 2: (full_chunk_rows, full_rows_rows),
                 3: (full_chunk_small, full_rows_small), 5: (full_chunk_small, full_rows_small),
                 8: (full_chunk_eight, full_rows_eight)}


def _full_kernels(n_features):
    return _FULL_KERNELS.get(n_features, (full_chunk_tiles, full_rows_tiles))


def feature_columns(X) -> np.ndarray:
    """The feature-major copy (W, N) of X (N, D), in X's dtype, that the fused passes read
    in place: W = D, plus one zero row where the 4 x 4 tiles run past D (D mod 4 = 3).
    Made once per fit (numpy, in cache-sized blocks: no kernel to compile); it costs one
    more copy of X in memory."""
    n_samples, n_features = X.shape
    width = n_features
    if n_features not in _FULL_KERNELS and n_features % TILE == TILE - 1:
        width += 1
    out = np.empty((width, n_samples), dtype=X.dtype)
    out[n_features:] = 0
    for start in range(0, n_samples, TRANSPOSE_ROWS):
        out[:n_features, start:start + TRANSPOSE_ROWS] = X[start:start + TRANSPOSE_ROWS].T
    return out


def gaussian_pass_full(columns, sample_weight, log_weights, means, prec_chol,
                       chunk_rows=CHUNK_ROWS):
    """(N_k, S_k, Q_k, log-likelihood, classification term) of all samples of the
    feature-major ``columns`` (see :func:`feature_columns`, :func:`_full_chunk`)."""
    chunk_kernel = _full_kernels(means.shape[1])[0]
    return map_add(lambda start, stop: chunk_kernel(
        columns, start, stop, sample_weight, log_weights, means, prec_chol),
        columns.shape[1], chunk_rows)


def gaussian_pass_diag(columns, sample_weight, log_weights, means, prec_sqrt,
                       chunk_rows=CHUNK_ROWS):
    """(N_k, S_k, diag Q_k, log-likelihood, classification term) of all samples of the
    feature-major ``columns``."""
    return map_add(lambda start, stop: gaussian_chunk_diag(
        columns, start, stop, sample_weight, log_weights, means, prec_sqrt),
        columns.shape[1], chunk_rows)


def _log_joint(rows_kernel, X, log_weights, means, precisions):
    X = np.ascontiguousarray(X)
    out = np.empty((X.shape[0], means.shape[0]))
    map_chunks(lambda start, stop: rows_kernel(X, start, stop, log_weights, means,
                                               precisions, out), X.shape[0])
    return out


def gaussian_log_joint_full(X, log_weights, means, prec_chol):
    """(N, K) log w_k + log N(x_n | mu_k, (P_k P_k^T)^-1)."""
    return _log_joint(_full_kernels(X.shape[1])[1], X, log_weights, means, prec_chol)


def gaussian_log_joint_diag(X, log_weights, means, prec_sqrt):
    """(N, K) log w_k + log N(x_n | mu_k, diag(1 / prec_sqrt_k**2))."""
    return _log_joint(log_joint_diag_rows, X, log_weights, means, prec_sqrt)


def gaussian_argmax(X, log_weights, means, precisions, full, chunk_rows=CHUNK_ROWS):
    """(N,) argmax_k of log w_k + log N(x_n | k), one chunk of log-densities at a time
    (no N x K matrix); ``precisions`` as for the full or the diag kernels."""
    rows_kernel = _full_kernels(X.shape[1])[1] if full else log_joint_diag_rows
    X = np.ascontiguousarray(X)
    labels = np.empty(X.shape[0], dtype=np.int64)

    def label_chunk(start, stop):
        block = np.empty((stop - start, means.shape[0]))
        rows_kernel(X[start:stop], 0, stop - start, log_weights, means, precisions, block)
        labels[start:stop] = block.argmax(axis=1)

    map_chunks(label_chunk, X.shape[0], chunk_rows)
    return labels


def weighted_moments(X, resp, shift, full, chunk_rows=CHUNK_ROWS):
    """(N_k, S_k, Q_k) from given responsibilities (N, K), centred on shift (K, D);
    Q_k is (K, D, D) when ``full`` else the (K, D) diagonal."""
    chunk = moments_full_chunk if full else moments_diag_chunk
    return map_add(lambda start, stop: chunk(X, start, stop, resp, shift), X.shape[0],
                   chunk_rows)
