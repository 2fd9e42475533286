"""What follows from a frequency estimate: standard errors, pairwise LD, and the
likelihood-ratio test of no linkage disequilibrium."""

import numpy as np
from scipy import sparse, stats

from ..kernels.pairs import pair_posteriors

#: haplotypes at or below this frequency sit on the boundary: no standard error
SE_MIN_FREQ = 1e-8
#: the information matrix is dense: above this many haplotypes no standard errors
SE_MAX_HAPLOTYPES = 4000
#: haplo.em counts a haplotype as a free parameter above this frequency
DF_MIN_FREQ = 1e-7


def standard_errors(pairs, freq, weights) -> np.ndarray:
    """Standard errors of the frequencies from the observed information on the simplex.

    I = sum_i w_i g_i g_i^T - sum_i w_i (d2 L_i / df df) / L_i with g_i = d log L_i / df,
    restricted to haplotypes above SE_MIN_FREQ and projected on sum(f) = 1 (f_H is
    1 - the others); NaN for boundary haplotypes or when the matrix is singular.
    """
    se = np.full(freq.shape[0], np.nan)
    active = np.flatnonzero(freq > SE_MIN_FREQ)
    m = active.size
    if m < 2 or m > SE_MAX_HAPLOTYPES:
        return se
    column = np.full(freq.shape[0], -1)
    column[active] = np.arange(m)
    posterior, _ = pair_posteriors(pairs.offsets, pairs.first, pairs.second, freq)
    subject = pairs.subject_of_pair()
    a, b = column[pairs.first], column[pairs.second]
    inside = (a >= 0) & (b >= 0)
    a, b, post, subject = a[inside], b[inside], posterior[inside], subject[inside]
    f = freq[active]
    n_subjects = pairs.offsets.shape[0] - 1
    # g_ia = sum_j post_ij * (copies of a in pair j) / f_a
    gradient = sparse.coo_matrix(
        (np.concatenate([post / f[a], post / f[b]]), (np.concatenate([subject, subject]),
                                                       np.concatenate([a, b]))),
        shape=(n_subjects, m)).tocsr()
    outer = (gradient.T @ sparse.diags(weights) @ gradient).toarray()
    # (d2 L_i / df_a df_b) / L_i = post_ij / (f_a f_b) (a != b) or 2 post_ij / f_a^2
    curvature = weights[subject] * post / (f[a] * f[b])
    hessian_part = np.zeros((m, m))
    np.add.at(hessian_part, (a, b), np.where(a == b, 2.0 * curvature, curvature))
    np.add.at(hessian_part, (b, a), np.where(a == b, 0.0, curvature))
    information = outer - hessian_part
    # on the simplex: f_m = 1 - sum of the others; t = f[:-1]
    basis = np.vstack([np.eye(m - 1), -np.ones((1, m - 1))])
    reduced = basis.T @ information @ basis
    try:
        covariance = basis @ np.linalg.inv(reduced) @ basis.T
    except np.linalg.LinAlgError:
        return se
    variance = np.diag(covariance)
    se[active] = np.where(variance > 0, np.sqrt(np.maximum(variance, 0.0)), np.nan)
    return se


def pairwise_ld(codes, freq, n_alleles) -> dict:
    """Linkage disequilibrium between every pair of loci from haplotype frequencies.

    D_ij = p_ij - p_i q_j; D' = sum_ij p_i q_j |D_ij| / Dmax_ij (Lewontin, Hedrick's
    multi-allelic form); r2 = sum_ij D_ij^2 / (p_i q_j) / (min(k, l) - 1) (= r^2 for two
    alleles each); D is reported for biallelic pairs (first allele of each locus).
    """
    n_loci = codes.shape[1]
    rows = {"locus1": [], "locus2": [], "D": [], "Dprime": [], "r2": []}
    for first in range(n_loci):
        for second in range(first + 1, n_loci):
            joint = np.zeros((n_alleles[first], n_alleles[second]))
            np.add.at(joint, (codes[:, first], codes[:, second]), freq)
            joint /= joint.sum()
            p, q = joint.sum(axis=1), joint.sum(axis=0)
            p, q, joint = p[p > 0], q[q > 0], joint[p > 0][:, q > 0]
            expected = np.outer(p, q)
            d = joint - expected
            d_max = np.where(d > 0, np.minimum(np.outer(p, 1 - q), np.outer(1 - p, q)),
                             np.minimum(expected, np.outer(1 - p, 1 - q)))
            with np.errstate(divide="ignore", invalid="ignore"):
                d_prime = np.where(d_max > 0, np.abs(d) / d_max, 0.0)
            smaller = min(p.size, q.size)
            rows["locus1"].append(first)
            rows["locus2"].append(second)
            rows["Dprime"].append(float((expected * d_prime).sum()))
            rows["r2"].append(float((d * d / expected).sum() / (smaller - 1))
                              if smaller > 1 else np.nan)
            biallelic = n_alleles[first] == 2 and n_alleles[second] == 2 and d.shape == (2, 2)
            rows["D"].append(float(d[0, 0]) if biallelic else np.nan)
    return {key: np.array(value) for key, value in rows.items()}


def no_ld_test(loglik, loglik_no_ld, freq, n_alleles) -> dict:
    """Likelihood-ratio test of linkage equilibrium: 2 (lnL - lnL_noLD) against
    chi2 with (haplotypes above 1e-7 - 1) - sum_l (alleles_l - 1) df, as haplo.em."""
    statistic = 2.0 * (loglik - loglik_no_ld)
    df = int((freq > DF_MIN_FREQ).sum() - 1 - (np.asarray(n_alleles) - 1).sum())
    p_value = float(stats.chi2.sf(statistic, df)) if df > 0 else float("nan")
    return {"loglik_no_ld": float(loglik_no_ld), "statistic": float(statistic), "df": df,
            "p_value": p_value}
