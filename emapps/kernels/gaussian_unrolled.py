"""Full-covariance block kernels written out for 3, 5 and 8 features.

Lab colour (3), colour plus position (5) and the benchmark's 8 features get kernels in
which a sample's values, (x - mu)^T P and a component's moment sums all stay in
registers: the 4 x 4 tiles (gaussian_tiles.py) would pad 3 features to 4, leave the
fifth of 5 to store-bound row loops, and at 8 features pass partial sums through memory.
They take the same arguments as the tile kernels (see gaussian.py) and ignore the
tiles' scratch rows.
"""

from ._jit import REDUCE_FLAGS, kernel
from .gaussian_tiles import four_rows, row
from .logspace import add_row_totals


@kernel(fastmath=REDUCE_FLAGS)
def log_joint_small(xt, offset, nb, means, prec, const, lp, y, n_features):
    """lp[k, b] = const_k - 1/2 ||(x_b - mu_k)^T P_k||^2 for 3 or 5 features, each
    sample's y = (x - mu)^T P in registers (P upper-triangular)."""
    n_components = means.shape[0]
    for k in range(n_components):
        sq = lp[k]
        p = prec[k]
        c = const[k]
        m0, m1, m2 = means[k, 0], means[k, 1], means[k, 2]
        p00, p01, p02, p11, p12, p22 = p[0, 0], p[0, 1], p[0, 2], p[1, 1], p[1, 2], p[2, 2]
        x0r, x1r, x2r = row(xt, 0, offset, nb), row(xt, 1, offset, nb), row(xt, 2, offset, nb)
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
            x3r, x4r = row(xt, 3, offset, nb), row(xt, 4, offset, nb)
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
def log_joint_eight(xt, offset, nb, means, prec, const, lp, y, n_features):
    """log_joint_small for 8 features: z = x - mu_k and y = z^T P_k column by column,
    36 products per sample with every value in a register."""
    x0r, x1r, x2r, x3r, x4r, x5r, x6r, x7r = (four_rows(xt, 0, offset, nb)
                                              + four_rows(xt, 4, offset, nb))
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


@kernel(fastmath=REDUCE_FLAGS)
def accumulate_small(xt, offset, nb, shift, resp, t, nk, sx, sxx, n_features):
    """Add N_k, S_k and the upper triangle of Q_k for 3 or 5 features, every sum in a
    register."""
    n_components = shift.shape[0]
    add_row_totals(resp, nb, nk)
    x0r, x1r, x2r = row(xt, 0, offset, nb), row(xt, 1, offset, nb), row(xt, 2, offset, nb)
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
            x3r, x4r = row(xt, 3, offset, nb), row(xt, 4, offset, nb)
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
def accumulate_eight(xt, offset, nb, shift, resp, t, nk, sx, sxx, n_features):
    """accumulate_small for 8 features: the 44 sums of a component in three passes over
    the block (rows 0-1, 2-4 and 5-7 of Q_k), each pass's sums in registers."""
    add_row_totals(resp, nb, nk)
    x0r, x1r, x2r, x3r, x4r, x5r, x6r, x7r = (four_rows(xt, 0, offset, nb)
                                              + four_rows(xt, 4, offset, nb))
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
