"""Gaussian mixture kernels: log-densities and one fused E/M-statistics pass.

Rows are processed in blocks transposed to (D, B) so every inner loop runs over
contiguous samples and vectorises; features are padded to a multiple of 4 so the
full-covariance loops work on 4 x 4 register tiles.  3, 5 and 8 features (Lab colour,
colour plus position, and the benchmark's shape) have kernels of their own that keep a
sample's values and a component's sums in registers instead.  Precisions are Cholesky factors
``P`` with Sigma^-1 = P P^T (upper-triangular, as scikit-learn stores them), so

    log N(x | mu, Sigma) = sum_j log P_jj - D/2 log(2 pi) - 1/2 ||(x - mu)^T P||^2.

Sufficient statistics are centred on the current means (``shift``) for accuracy:
N_k = sum r_nk, S_k = sum r_nk (x_n - mu_k), Q_k = sum r_nk (x_n - mu_k)(x_n - mu_k)^T.
The ``*_chunk`` kernels work on rows [start, stop); the plain-named functions run
them over fixed chunks on threads (see parallel.py).
"""

import math
import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import BLOCK, add_row_totals, posterior_block, posterior_buffers
from .parallel import CHUNK_ROWS, map_add, map_chunks

TILE = 4
#: feature counts with kernels of their own, every feature in registers: the 4 x 4 tiles
#: would pad 3 features to 4, and leave the fifth of 5 to store-bound row loops
SMALL_FEATURES = (3, 5)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@kernel(inline="always")
def _padded(n_features):
    return (n_features + TILE - 1) // TILE * TILE


@kernel(inline="always")
def _tiled_end(n_features):
    """Features [0, end) go through 4 x 4 tiles; the 1 or 2 left over (D mod 4 in {1, 2})
    go through row loops instead, which beat tiles that are mostly padding."""
    rest = n_features % TILE
    return n_features - rest if rest in (1, 2) else _padded(n_features)


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


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_full(xt, nb, means, prec, const, lp, y, n_features):
    """lp[k, b] = const_k - 1/2 ||(x_b - mu_k)^T P_k||^2 on padded (Dp, B) blocks.

    y_j = sum_{i <= j} (x_i - mu_i) P_ij is built on 4 x 4 tiles of P; partial sums of a
    column block live in ``y`` only until its diagonal tile, where they are squared
    straight into lp (stores, not flops, bound these loops).  Columns past
    ``_tiled_end`` are summed row by row.
    """
    n_components = means.shape[0]
    tiled = _tiled_end(n_features)
    y0, y1, y2, y3 = y[0], y[1], y[2], y[3]
    for k in range(n_components):
        sq = lp[k]
        p = prec[k]
        for b in range(nb):
            sq[b] = 0.0
        for j0 in range(0, tiled, TILE):
            for i0 in range(0, j0 + TILE, TILE):
                keep = 0.0 if i0 == 0 else 1.0
                m0, m1, m2, m3 = means[k, i0], means[k, i0 + 1], means[k, i0 + 2], means[k, i0 + 3]
                p00, p01, p02, p03 = p[i0, j0], p[i0, j0 + 1], p[i0, j0 + 2], p[i0, j0 + 3]
                p10, p11, p12, p13 = p[i0 + 1, j0], p[i0 + 1, j0 + 1], p[i0 + 1, j0 + 2], p[i0 + 1, j0 + 3]
                p20, p21, p22, p23 = p[i0 + 2, j0], p[i0 + 2, j0 + 1], p[i0 + 2, j0 + 2], p[i0 + 2, j0 + 3]
                p30, p31, p32, p33 = p[i0 + 3, j0], p[i0 + 3, j0 + 1], p[i0 + 3, j0 + 2], p[i0 + 3, j0 + 3]
                x0r, x1r, x2r, x3r = xt[i0], xt[i0 + 1], xt[i0 + 2], xt[i0 + 3]
                if i0 == j0:  # diagonal tile: P is upper-triangular, skip its zeros
                    for b in range(nb):
                        x0 = x0r[b] - m0
                        x1 = x1r[b] - m1
                        x2 = x2r[b] - m2
                        x3 = x3r[b] - m3
                        a0 = keep * y0[b] + x0 * p00
                        a1 = keep * y1[b] + x0 * p01 + x1 * p11
                        a2 = keep * y2[b] + x0 * p02 + x1 * p12 + x2 * p22
                        a3 = keep * y3[b] + x0 * p03 + x1 * p13 + x2 * p23 + x3 * p33
                        sq[b] += a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3
                else:
                    for b in range(nb):
                        x0 = x0r[b] - m0
                        x1 = x1r[b] - m1
                        x2 = x2r[b] - m2
                        x3 = x3r[b] - m3
                        y0[b] = keep * y0[b] + x0 * p00 + x1 * p10 + x2 * p20 + x3 * p30
                        y1[b] = keep * y1[b] + x0 * p01 + x1 * p11 + x2 * p21 + x3 * p31
                        y2[b] = keep * y2[b] + x0 * p02 + x1 * p12 + x2 * p22 + x3 * p32
                        y3[b] = keep * y3[b] + x0 * p03 + x1 * p13 + x2 * p23 + x3 * p33
        for j in range(tiled, n_features):
            for b in range(nb):
                y0[b] = 0.0
            for i in range(j + 1):
                m = means[k, i]
                c = p[i, j]
                xi = xt[i]
                for b in range(nb):
                    y0[b] += (xi[b] - m) * c
            for b in range(nb):
                sq[b] += y0[b] * y0[b]
        c = const[k]
        for b in range(nb):
            sq[b] = c - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_full(xt, nb, shift, resp, t, nk, sx, sxx, n_features):
    """Add N_k, S_k and the upper triangle of Q_k for a padded block.

    Each diagonal tile also stores t = r_b (x_bi - mu_i) for its row block; the tiles to
    its right form the other factor x_bj - mu_j in registers.  Features past
    ``_tiled_end`` get their t rows and their Q columns from row loops.
    """
    n_components = shift.shape[0]
    tiled = _tiled_end(n_features)
    add_row_totals(resp, nb, nk)
    for k in range(n_components):
        for i0 in range(0, tiled, TILE):
            _accumulate_diagonal_tile(xt, nb, shift[k], resp[k], t, i0, sxx[k], sx[k])
            t0, t1, t2, t3 = t[i0], t[i0 + 1], t[i0 + 2], t[i0 + 3]
            for j0 in range(i0 + TILE, tiled, TILE):
                x0, x1, x2, x3 = xt[j0], xt[j0 + 1], xt[j0 + 2], xt[j0 + 3]
                v0, v1, v2, v3 = shift[k, j0], shift[k, j0 + 1], shift[k, j0 + 2], shift[k, j0 + 3]
                s00 = s01 = s02 = s03 = 0.0
                s10 = s11 = s12 = s13 = 0.0
                s20 = s21 = s22 = s23 = 0.0
                s30 = s31 = s32 = s33 = 0.0
                for b in range(nb):
                    a0, a1, a2, a3 = t0[b], t1[b], t2[b], t3[b]
                    c0 = x0[b] - v0
                    c1 = x1[b] - v1
                    c2 = x2[b] - v2
                    c3 = x3[b] - v3
                    s00 += a0 * c0
                    s01 += a0 * c1
                    s02 += a0 * c2
                    s03 += a0 * c3
                    s10 += a1 * c0
                    s11 += a1 * c1
                    s12 += a1 * c2
                    s13 += a1 * c3
                    s20 += a2 * c0
                    s21 += a2 * c1
                    s22 += a2 * c2
                    s23 += a2 * c3
                    s30 += a3 * c0
                    s31 += a3 * c1
                    s32 += a3 * c2
                    s33 += a3 * c3
                q = sxx[k]
                q[i0, j0] += s00
                q[i0, j0 + 1] += s01
                q[i0, j0 + 2] += s02
                q[i0, j0 + 3] += s03
                q[i0 + 1, j0] += s10
                q[i0 + 1, j0 + 1] += s11
                q[i0 + 1, j0 + 2] += s12
                q[i0 + 1, j0 + 3] += s13
                q[i0 + 2, j0] += s20
                q[i0 + 2, j0 + 1] += s21
                q[i0 + 2, j0 + 2] += s22
                q[i0 + 2, j0 + 3] += s23
                q[i0 + 3, j0] += s30
                q[i0 + 3, j0 + 1] += s31
                q[i0 + 3, j0 + 2] += s32
                q[i0 + 3, j0 + 3] += s33
        _accumulate_narrow(xt, nb, shift[k], resp[k], t, sx[k], sxx[k], tiled, n_features)


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_narrow(xt, nb, shift, r, t, sx, q, tiled, n_features):
    """t rows, S and Q columns of the features [tiled, n_features) for one component."""
    for i in range(tiled, n_features):
        v = shift[i]
        xi = xt[i]
        ti = t[i]
        for b in range(nb):
            ti[b] = r[b] * (xi[b] - v)
        total = 0.0
        for b in range(nb):  # a store-free reduction: no address-dependent alias check
            total += ti[b]
        sx[i] += total
    for j in range(tiled, n_features):
        v = shift[j]
        xj = xt[j]
        for i in range(j + 1):
            ti = t[i]
            total = 0.0
            for b in range(nb):
                total += ti[b] * (xj[b] - v)
            q[i, j] += total


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_diagonal_tile(xt, nb, shift, r, t, i0, q, sx):
    """The diagonal 4 x 4 tile at (i0, i0): sums of r z_i (into sx) and the upper triangle
    of r z z^T (10 sums, not 16), with z = x - shift; stores t = r z for the tiles to its
    right."""
    x0, x1, x2, x3 = xt[i0], xt[i0 + 1], xt[i0 + 2], xt[i0 + 3]
    t0, t1, t2, t3 = t[i0], t[i0 + 1], t[i0 + 2], t[i0 + 3]
    v0, v1, v2, v3 = shift[i0], shift[i0 + 1], shift[i0 + 2], shift[i0 + 3]
    f0 = f1 = f2 = f3 = 0.0
    s00 = s01 = s02 = s03 = s11 = s12 = s13 = s22 = s23 = s33 = 0.0
    for b in range(nb):
        w = r[b]
        c0 = x0[b] - v0
        c1 = x1[b] - v1
        c2 = x2[b] - v2
        c3 = x3[b] - v3
        a0 = w * c0
        a1 = w * c1
        a2 = w * c2
        a3 = w * c3
        t0[b] = a0
        t1[b] = a1
        t2[b] = a2
        t3[b] = a3
        f0 += a0
        f1 += a1
        f2 += a2
        f3 += a3
        s00 += a0 * c0
        s01 += a0 * c1
        s02 += a0 * c2
        s03 += a0 * c3
        s11 += a1 * c1
        s12 += a1 * c2
        s13 += a1 * c3
        s22 += a2 * c2
        s23 += a2 * c3
        s33 += a3 * c3
    sx[i0] += f0
    sx[i0 + 1] += f1
    sx[i0 + 2] += f2
    sx[i0 + 3] += f3
    q[i0, i0] += s00
    q[i0, i0 + 1] += s01
    q[i0, i0 + 2] += s02
    q[i0, i0 + 3] += s03
    q[i0 + 1, i0 + 1] += s11
    q[i0 + 1, i0 + 2] += s12
    q[i0 + 1, i0 + 3] += s13
    q[i0 + 2, i0 + 2] += s22
    q[i0 + 2, i0 + 3] += s23
    q[i0 + 3, i0 + 3] += s33


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_small(xt, nb, means, prec, const, lp):
    """lp[k, b] = const_k - 1/2 ||(x_b - mu_k)^T P_k||^2 for 3 or 5 features, each
    sample's y = (x - mu)^T P in registers (P upper-triangular)."""
    n_components, n_features = means.shape
    for k in range(n_components):
        sq = lp[k]
        p = prec[k]
        c = const[k]
        m0, m1, m2 = means[k, 0], means[k, 1], means[k, 2]
        p00, p01, p02, p11, p12, p22 = p[0, 0], p[0, 1], p[0, 2], p[1, 1], p[1, 2], p[2, 2]
        x0r, x1r, x2r = xt[0], xt[1], xt[2]
        if n_features == 3:
            for b in range(nb):
                x0 = x0r[b] - m0
                x1 = x1r[b] - m1
                x2 = x2r[b] - m2
                a0 = x0 * p00
                a1 = x0 * p01 + x1 * p11
                a2 = x0 * p02 + x1 * p12 + x2 * p22
                sq[b] = c - 0.5 * (a0 * a0 + a1 * a1 + a2 * a2)
        else:
            m3, m4 = means[k, 3], means[k, 4]
            p03, p13, p23, p33 = p[0, 3], p[1, 3], p[2, 3], p[3, 3]
            p04, p14, p24, p34, p44 = p[0, 4], p[1, 4], p[2, 4], p[3, 4], p[4, 4]
            x3r, x4r = xt[3], xt[4]
            for b in range(nb):
                x0 = x0r[b] - m0
                x1 = x1r[b] - m1
                x2 = x2r[b] - m2
                x3 = x3r[b] - m3
                x4 = x4r[b] - m4
                a0 = x0 * p00
                a1 = x0 * p01 + x1 * p11
                a2 = x0 * p02 + x1 * p12 + x2 * p22
                a3 = x0 * p03 + x1 * p13 + x2 * p23 + x3 * p33
                a4 = x0 * p04 + x1 * p14 + x2 * p24 + x3 * p34 + x4 * p44
                sq[b] = c - 0.5 * (a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3 + a4 * a4)


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_eight(xt, nb, means, prec, const, lp):
    """_log_joint_small for 8 features: z = x - mu_k and y = z^T P_k column by column,
    36 products per sample with every value in a register."""
    x0r, x1r, x2r, x3r, x4r, x5r, x6r, x7r = xt[0], xt[1], xt[2], xt[3], xt[4], xt[5], xt[6], xt[7]
    for k in range(means.shape[0]):
        sq = lp[k]
        p = prec[k]
        c = const[k]
        m0, m1, m2, m3 = means[k, 0], means[k, 1], means[k, 2], means[k, 3]
        m4, m5, m6, m7 = means[k, 4], means[k, 5], means[k, 6], means[k, 7]
        for b in range(nb):
            z0 = x0r[b] - m0
            z1 = x1r[b] - m1
            z2 = x2r[b] - m2
            z3 = x3r[b] - m3
            z4 = x4r[b] - m4
            z5 = x5r[b] - m5
            z6 = x6r[b] - m6
            z7 = x7r[b] - m7
            a0 = z0 * p[0, 0]
            a1 = z0 * p[0, 1] + z1 * p[1, 1]
            a2 = z0 * p[0, 2] + z1 * p[1, 2] + z2 * p[2, 2]
            a3 = z0 * p[0, 3] + z1 * p[1, 3] + z2 * p[2, 3] + z3 * p[3, 3]
            a4 = z0 * p[0, 4] + z1 * p[1, 4] + z2 * p[2, 4] + z3 * p[3, 4] + z4 * p[4, 4]
            a5 = (z0 * p[0, 5] + z1 * p[1, 5] + z2 * p[2, 5] + z3 * p[3, 5] + z4 * p[4, 5]
                  + z5 * p[5, 5])
            a6 = (z0 * p[0, 6] + z1 * p[1, 6] + z2 * p[2, 6] + z3 * p[3, 6] + z4 * p[4, 6]
                  + z5 * p[5, 6] + z6 * p[6, 6])
            a7 = (z0 * p[0, 7] + z1 * p[1, 7] + z2 * p[2, 7] + z3 * p[3, 7] + z4 * p[4, 7]
                  + z5 * p[5, 7] + z6 * p[6, 7] + z7 * p[7, 7])
            sq[b] = c - 0.5 * (a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3 + a4 * a4 + a5 * a5
                               + a6 * a6 + a7 * a7)


@kernel(inline="always")
def _block_width(n_features):
    """Rows of a transposed block: the features, padded to whole tiles unless small."""
    return n_features if n_features in SMALL_FEATURES else _padded(n_features)


@kernel(fastmath=REDUCE_FLAGS, inline="always")
def _log_joint_block(xt, nb, means, prec, const, lp, y, n_features):
    """lp of a block by the small kernel or the tiles (see _block_width)."""
    if n_features in SMALL_FEATURES:
        _log_joint_small(xt, nb, means, prec, const, lp)
    elif n_features == 8:
        _log_joint_eight(xt, nb, means, prec, const, lp)
    else:
        _log_joint_full(xt, nb, means, prec, const, lp, y, n_features)


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_small(xt, nb, shift, resp, nk, sx, sxx):
    """Add N_k, S_k and the upper triangle of Q_k for 3 or 5 features, every sum in a
    register."""
    n_components, n_features = shift.shape
    add_row_totals(resp, nb, nk)
    x0r, x1r, x2r = xt[0], xt[1], xt[2]
    for k in range(n_components):
        r = resp[k]
        v0, v1, v2 = shift[k, 0], shift[k, 1], shift[k, 2]
        q = sxx[k]
        f0 = f1 = f2 = 0.0
        s00 = s01 = s02 = s11 = s12 = s22 = 0.0
        if n_features == 3:
            for b in range(nb):
                w = r[b]
                c0 = x0r[b] - v0
                c1 = x1r[b] - v1
                c2 = x2r[b] - v2
                a0 = w * c0
                a1 = w * c1
                a2 = w * c2
                f0 += a0
                f1 += a1
                f2 += a2
                s00 += a0 * c0
                s01 += a0 * c1
                s02 += a0 * c2
                s11 += a1 * c1
                s12 += a1 * c2
                s22 += a2 * c2
        else:
            x3r, x4r = xt[3], xt[4]
            v3, v4 = shift[k, 3], shift[k, 4]
            f3 = f4 = 0.0
            s03 = s04 = s13 = s14 = s23 = s24 = s33 = s34 = s44 = 0.0
            for b in range(nb):
                w = r[b]
                c0 = x0r[b] - v0
                c1 = x1r[b] - v1
                c2 = x2r[b] - v2
                c3 = x3r[b] - v3
                c4 = x4r[b] - v4
                a0 = w * c0
                a1 = w * c1
                a2 = w * c2
                a3 = w * c3
                a4 = w * c4
                f0 += a0
                f1 += a1
                f2 += a2
                f3 += a3
                f4 += a4
                s00 += a0 * c0
                s01 += a0 * c1
                s02 += a0 * c2
                s03 += a0 * c3
                s04 += a0 * c4
                s11 += a1 * c1
                s12 += a1 * c2
                s13 += a1 * c3
                s14 += a1 * c4
                s22 += a2 * c2
                s23 += a2 * c3
                s24 += a2 * c4
                s33 += a3 * c3
                s34 += a3 * c4
                s44 += a4 * c4
            sx[k, 3] += f3
            sx[k, 4] += f4
            q[0, 3] += s03
            q[0, 4] += s04
            q[1, 3] += s13
            q[1, 4] += s14
            q[2, 3] += s23
            q[2, 4] += s24
            q[3, 3] += s33
            q[3, 4] += s34
            q[4, 4] += s44
        sx[k, 0] += f0
        sx[k, 1] += f1
        sx[k, 2] += f2
        q[0, 0] += s00
        q[0, 1] += s01
        q[0, 2] += s02
        q[1, 1] += s11
        q[1, 2] += s12
        q[2, 2] += s22


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_eight(xt, nb, shift, resp, nk, sx, sxx):
    """_accumulate_small for 8 features: the 44 sums of a component in three passes over
    the block (rows 0-1, 2-4 and 5-7 of Q_k), each pass's sums in registers."""
    add_row_totals(resp, nb, nk)
    x0r, x1r, x2r, x3r, x4r, x5r, x6r, x7r = xt[0], xt[1], xt[2], xt[3], xt[4], xt[5], xt[6], xt[7]
    for k in range(shift.shape[0]):
        r = resp[k]
        q = sxx[k]
        v0, v1, v2, v3 = shift[k, 0], shift[k, 1], shift[k, 2], shift[k, 3]
        v4, v5, v6, v7 = shift[k, 4], shift[k, 5], shift[k, 6], shift[k, 7]
        f0 = f1 = s00 = s01 = s02 = s03 = s04 = s05 = s06 = s07 = s11 = s12 = s13 = s14 = s15 = s16 = s17 = 0.0
        for b in range(nb):
            w = r[b]
            c0 = x0r[b] - v0
            c1 = x1r[b] - v1
            c2 = x2r[b] - v2
            c3 = x3r[b] - v3
            c4 = x4r[b] - v4
            c5 = x5r[b] - v5
            c6 = x6r[b] - v6
            c7 = x7r[b] - v7
            a0 = w * c0
            a1 = w * c1
            f0 += a0
            f1 += a1
            s00 += a0 * c0
            s01 += a0 * c1
            s02 += a0 * c2
            s03 += a0 * c3
            s04 += a0 * c4
            s05 += a0 * c5
            s06 += a0 * c6
            s07 += a0 * c7
            s11 += a1 * c1
            s12 += a1 * c2
            s13 += a1 * c3
            s14 += a1 * c4
            s15 += a1 * c5
            s16 += a1 * c6
            s17 += a1 * c7
        sx[k, 0] += f0
        sx[k, 1] += f1
        q[0, 0] += s00
        q[0, 1] += s01
        q[0, 2] += s02
        q[0, 3] += s03
        q[0, 4] += s04
        q[0, 5] += s05
        q[0, 6] += s06
        q[0, 7] += s07
        q[1, 1] += s11
        q[1, 2] += s12
        q[1, 3] += s13
        q[1, 4] += s14
        q[1, 5] += s15
        q[1, 6] += s16
        q[1, 7] += s17
        f2 = f3 = f4 = s22 = s23 = s24 = s25 = s26 = s27 = s33 = s34 = s35 = s36 = s37 = s44 = s45 = s46 = s47 = 0.0
        for b in range(nb):
            w = r[b]
            c2 = x2r[b] - v2
            c3 = x3r[b] - v3
            c4 = x4r[b] - v4
            c5 = x5r[b] - v5
            c6 = x6r[b] - v6
            c7 = x7r[b] - v7
            a2 = w * c2
            a3 = w * c3
            a4 = w * c4
            f2 += a2
            f3 += a3
            f4 += a4
            s22 += a2 * c2
            s23 += a2 * c3
            s24 += a2 * c4
            s25 += a2 * c5
            s26 += a2 * c6
            s27 += a2 * c7
            s33 += a3 * c3
            s34 += a3 * c4
            s35 += a3 * c5
            s36 += a3 * c6
            s37 += a3 * c7
            s44 += a4 * c4
            s45 += a4 * c5
            s46 += a4 * c6
            s47 += a4 * c7
        sx[k, 2] += f2
        sx[k, 3] += f3
        sx[k, 4] += f4
        q[2, 2] += s22
        q[2, 3] += s23
        q[2, 4] += s24
        q[2, 5] += s25
        q[2, 6] += s26
        q[2, 7] += s27
        q[3, 3] += s33
        q[3, 4] += s34
        q[3, 5] += s35
        q[3, 6] += s36
        q[3, 7] += s37
        q[4, 4] += s44
        q[4, 5] += s45
        q[4, 6] += s46
        q[4, 7] += s47
        f5 = f6 = f7 = s55 = s56 = s57 = s66 = s67 = s77 = 0.0
        for b in range(nb):
            w = r[b]
            c5 = x5r[b] - v5
            c6 = x6r[b] - v6
            c7 = x7r[b] - v7
            a5 = w * c5
            a6 = w * c6
            a7 = w * c7
            f5 += a5
            f6 += a6
            f7 += a7
            s55 += a5 * c5
            s56 += a5 * c6
            s57 += a5 * c7
            s66 += a6 * c6
            s67 += a6 * c7
            s77 += a7 * c7
        sx[k, 5] += f5
        sx[k, 6] += f6
        sx[k, 7] += f7
        q[5, 5] += s55
        q[5, 6] += s56
        q[5, 7] += s57
        q[6, 6] += s66
        q[6, 7] += s67
        q[7, 7] += s77


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


@kernel(fastmath=REDUCE_FLAGS)
def gaussian_chunk_full(X, start, stop, sample_weight, log_weights, means, prec_chol):
    """Fused E-step for full precisions over rows [start, stop): (N_k, S_k, Q_k,
    sum_n w_n log p(x_n), sum_n -w_n log max_k p(k | x_n)), centred on ``means``;
    sample_weight empty = unit weights."""
    n_features = X.shape[1]
    n_components = means.shape[0]
    n_padded = _block_width(n_features)
    means_p, prec_p = _pad_full(means, prec_chol, n_padded)
    const = _full_const(log_weights, prec_chol)
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_padded))
    sxx = np.zeros((n_components, n_padded, n_padded))
    xt = np.zeros((n_padded, BLOCK))
    t = np.empty((n_padded, BLOCK))
    lp, top, norm = posterior_buffers(n_components)
    y = np.zeros((TILE, BLOCK))  # read (times 0) before the first write
    loglik = 0.0
    classification = 0.0
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _load_features(X, first, nb, xt)
        _log_joint_block(xt, nb, means_p, prec_p, const, lp, y, n_features)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        if n_features in SMALL_FEATURES:
            _accumulate_small(xt, nb, means_p, lp, nk, sx, sxx)
        elif n_features == 8:
            _accumulate_eight(xt, nb, means_p, lp, nk, sx, sxx)
        else:
            _accumulate_full(xt, nb, means_p, lp, t, nk, sx, sxx, n_features)
    sx_out, sxx_out = _finish_full(nk, sx, sxx, n_features)
    return nk, sx_out, sxx_out, loglik, classification


@kernel(fastmath=REDUCE_FLAGS)
def _log_joint_diag(xt, nb, means, prec_sqrt, const, lp):
    """lp[k, b] = const_k - 1/2 sum_i ((x_bi - mu_ki) p_ki)^2 for a block."""
    n_components, n_features = means.shape
    for k in range(n_components):
        sq = lp[k]
        for b in range(nb):
            sq[b] = 0.0
        for i in range(n_features):
            mu = means[k, i]
            p = prec_sqrt[k, i]
            row = xt[i]
            for b in range(nb):
                z = (row[b] - mu) * p
                sq[b] += z * z
        c = const[k]
        for b in range(nb):
            sq[b] = c - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_diag(xt, nb, shift, resp, nk, sx, sxx):
    """Add N_k, S_k and diag Q_k for a block."""
    n_components, n_features = shift.shape
    add_row_totals(resp, nb, nk)
    for k in range(n_components):
        r = resp[k]
        for i in range(n_features):
            mu = shift[k, i]
            row = xt[i]
            first = 0.0
            second = 0.0
            for b in range(nb):
                z = row[b] - mu
                rz = r[b] * z
                first += rz
                second += rz * z
            sx[k, i] += first
            sxx[k, i] += second


@kernel(fastmath=REDUCE_FLAGS)
def gaussian_chunk_diag(X, start, stop, sample_weight, log_weights, means, prec_sqrt):
    """Fused E-step for diagonal precisions (prec_sqrt = 1/sigma, (K, D)) over rows
    [start, stop): (N_k, S_k, diag Q_k, sum_n w_n log p(x_n),
    sum_n -w_n log max_k p(k | x_n)), centred on ``means``."""
    n_features = X.shape[1]
    n_components = means.shape[0]
    const = _diag_const(log_weights, prec_sqrt)
    nk = np.zeros(n_components)
    sx = np.zeros((n_components, n_features))
    sxx = np.zeros((n_components, n_features))
    xt = np.empty((n_features, BLOCK))
    lp, top, norm = posterior_buffers(n_components)
    loglik = 0.0
    classification = 0.0
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _load_features(X, first, nb, xt)
        _log_joint_diag(xt, nb, means, prec_sqrt, const, lp)
        block_loglik, block_classification = posterior_block(lp, nb, sample_weight, first,
                                                             top, norm)
        loglik += block_loglik
        classification += block_classification
        _accumulate_diag(xt, nb, means, lp, nk, sx, sxx)
    return nk, sx, sxx, loglik, classification


@kernel(fastmath=REDUCE_FLAGS)
def log_joint_full_rows(X, start, stop, log_weights, means, prec_chol, out):
    """out[n, k] = log w_k + log N(x_n | mu_k, (P_k P_k^T)^-1) for rows [start, stop)."""
    n_features = X.shape[1]
    n_components = means.shape[0]
    n_padded = _block_width(n_features)
    means_p, prec_p = _pad_full(means, prec_chol, n_padded)
    const = _full_const(log_weights, prec_chol)
    xt = np.zeros((n_padded, BLOCK))
    lp = np.empty((n_components, BLOCK))
    y = np.zeros((TILE, BLOCK))  # read (times 0) before the first write
    for first in range(start, stop, BLOCK):
        nb = min(BLOCK, stop - first)
        _load_features(X, first, nb, xt)
        _log_joint_block(xt, nb, means_p, prec_p, const, lp, y, n_features)
        for b in range(nb):
            for k in range(n_components):
                out[first + b, k] = lp[k, b]


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
        _log_joint_diag(xt, nb, means, prec_sqrt, const, lp)
        for b in range(nb):
            for k in range(n_components):
                out[first + b, k] = lp[k, b]


@kernel(fastmath=REDUCE_FLAGS)
def moments_full_chunk(X, start, stop, resp, shift):
    """(N_k, S_k, Q_k) of given responsibilities (N, K) over rows [start, stop)."""
    n_features = X.shape[1]
    n_components = resp.shape[1]
    n_padded = _padded(n_features)
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
        _accumulate_full(xt, nb, shift_p, rt, t, nk, sx, sxx, n_features)
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
        _accumulate_diag(xt, nb, shift, rt, nk, sx, sxx)
    return nk, sx, sxx


# -- drivers: fixed chunks on threads, totals in chunk order ----------------------------

def gaussian_pass_full(X, sample_weight, log_weights, means, prec_chol, chunk_rows=CHUNK_ROWS):
    """(N_k, S_k, Q_k, log-likelihood, classification term) of the whole of X; see
    :func:`gaussian_chunk_full`."""
    X = np.ascontiguousarray(X)
    return map_add(lambda start, stop: gaussian_chunk_full(
        X, start, stop, sample_weight, log_weights, means, prec_chol), X.shape[0], chunk_rows)


def gaussian_pass_diag(X, sample_weight, log_weights, means, prec_sqrt, chunk_rows=CHUNK_ROWS):
    """(N_k, S_k, diag Q_k, log-likelihood, classification term) of the whole of X."""
    X = np.ascontiguousarray(X)
    return map_add(lambda start, stop: gaussian_chunk_diag(
        X, start, stop, sample_weight, log_weights, means, prec_sqrt), X.shape[0], chunk_rows)


def _log_joint(rows_kernel, X, log_weights, means, precisions):
    X = np.ascontiguousarray(X)
    out = np.empty((X.shape[0], means.shape[0]))
    map_chunks(lambda start, stop: rows_kernel(X, start, stop, log_weights, means,
                                               precisions, out), X.shape[0])
    return out


def gaussian_log_joint_full(X, log_weights, means, prec_chol):
    """(N, K) log w_k + log N(x_n | mu_k, (P_k P_k^T)^-1)."""
    return _log_joint(log_joint_full_rows, X, log_weights, means, prec_chol)


def gaussian_log_joint_diag(X, log_weights, means, prec_sqrt):
    """(N, K) log w_k + log N(x_n | mu_k, diag(1 / prec_sqrt_k**2))."""
    return _log_joint(log_joint_diag_rows, X, log_weights, means, prec_sqrt)


def gaussian_argmax(X, log_weights, means, precisions, full, chunk_rows=CHUNK_ROWS):
    """(N,) argmax_k of log w_k + log N(x_n | k), one chunk of log-densities at a time
    (no N x K matrix); ``precisions`` as for the full or the diag kernels."""
    rows_kernel = log_joint_full_rows if full else log_joint_diag_rows
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
