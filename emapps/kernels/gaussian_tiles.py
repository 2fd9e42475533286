"""Full-covariance block kernels for any number of features, on 4 x 4 register tiles.

A block is B samples of every feature, rows of a feature-major array (see gaussian.py),
so every inner loop runs over contiguous samples and vectorises.  D mod 4 = 3 needs one
zero row past D for the last tile.  The 1 or 2 features left past the last whole tile
(D mod 4 in {1, 2}) go through row loops instead of tiles that would be mostly padding;
with 1 or 2 features the row loops alone run (``*_rows``).  See gaussian.py for the
block-kernel arguments.
"""

from ._jit import REDUCE_FLAGS, kernel
from .logspace import add_row_totals

TILE = 4


@kernel(inline="always")
def padded(n_features):
    return (n_features + TILE - 1) // TILE * TILE


@kernel(inline="always")
def row(xt, i, offset, nb):
    """Samples [offset, offset + nb) of feature i of a feature-major (W, N) array: a
    contiguous view, so loops over it vectorise."""
    return xt[i, offset:offset + nb]


@kernel(inline="always")
def four_rows(xt, i, offset, nb):
    """row() of features i to i + 3."""
    return (row(xt, i, offset, nb), row(xt, i + 1, offset, nb), row(xt, i + 2, offset, nb),
            row(xt, i + 3, offset, nb))


@kernel(inline="always")
def _tiled_end(n_features):
    """Features [0, end) go through 4 x 4 tiles; the 1 or 2 left over (D mod 4 in {1, 2})
    go through row loops instead, which beat tiles that are mostly padding."""
    rest = n_features % TILE
    return n_features - rest if rest in (1, 2) else padded(n_features)


@kernel(fastmath=REDUCE_FLAGS)
def log_joint_tiles(xt, offset, nb, means, prec, const, lp, y, n_features):
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
                x0r, x1r, x2r, x3r = four_rows(xt, i0, offset, nb)
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
        _row_columns(xt, offset, nb, means[k], p, sq, y0, tiled, n_features)
        c = const[k]
        for b in range(nb):
            sq[b] = c - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def _row_columns(xt, offset, nb, mean, p, sq, y, first, n_features):
    """sq[b] += y_j^2 for the columns j in [first, n_features), each summed row by row."""
    for j in range(first, n_features):
        for b in range(nb):
            y[b] = 0.0
        for i in range(j + 1):
            m = mean[i]
            c = p[i, j]
            xi = row(xt, i, offset, nb)
            for b in range(nb):
                y[b] += (xi[b] - m) * c
        for b in range(nb):
            sq[b] += y[b] * y[b]


@kernel(fastmath=REDUCE_FLAGS)
def log_joint_rows(xt, offset, nb, means, prec, const, lp, y, n_features):
    """log_joint_tiles by row loops alone: for 1 or 2 features, where no tile fits."""
    for k in range(means.shape[0]):
        sq = lp[k]
        for b in range(nb):
            sq[b] = 0.0
        _row_columns(xt, offset, nb, means[k], prec[k], sq, y[0], 0, n_features)
        c = const[k]
        for b in range(nb):
            sq[b] = c - 0.5 * sq[b]


@kernel(fastmath=REDUCE_FLAGS)
def accumulate_tiles(xt, offset, nb, shift, resp, t, nk, sx, sxx, n_features):
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
            _accumulate_diagonal_tile(xt, offset, nb, shift[k], resp[k], t, i0, sxx[k], sx[k])
            t0, t1, t2, t3 = t[i0], t[i0 + 1], t[i0 + 2], t[i0 + 3]
            for j0 in range(i0 + TILE, tiled, TILE):
                x0, x1, x2, x3 = four_rows(xt, j0, offset, nb)
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
        _accumulate_narrow(xt, offset, nb, shift[k], resp[k], t, sx[k], sxx[k], tiled, n_features)


@kernel(fastmath=REDUCE_FLAGS)
def accumulate_rows(xt, offset, nb, shift, resp, t, nk, sx, sxx, n_features):
    """accumulate_tiles by row loops alone (1 or 2 features)."""
    add_row_totals(resp, nb, nk)
    for k in range(shift.shape[0]):
        _accumulate_narrow(xt, offset, nb, shift[k], resp[k], t, sx[k], sxx[k], 0, n_features)


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_narrow(xt, offset, nb, shift, r, t, sx, q, tiled, n_features):
    """t rows, S and Q columns of the features [tiled, n_features) for one component."""
    for i in range(tiled, n_features):
        v = shift[i]
        xi = row(xt, i, offset, nb)
        ti = t[i]
        for b in range(nb):
            ti[b] = r[b] * (xi[b] - v)
        total = 0.0
        for b in range(nb):  # a store-free reduction: no address-dependent alias check
            total += ti[b]
        sx[i] += total
    for j in range(tiled, n_features):
        v = shift[j]
        xj = row(xt, j, offset, nb)
        for i in range(j + 1):
            ti = t[i]
            total = 0.0
            for b in range(nb):
                total += ti[b] * (xj[b] - v)
            q[i, j] += total


@kernel(fastmath=REDUCE_FLAGS)
def _accumulate_diagonal_tile(xt, offset, nb, shift, r, t, i0, q, sx):
    """The diagonal 4 x 4 tile at (i0, i0): sums of r z_i (into sx) and the upper triangle
    of r z z^T (10 sums, not 16), with z = x - shift; stores t = r z for the tiles to its
    right."""
    x0, x1, x2, x3 = four_rows(xt, i0, offset, nb)
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
