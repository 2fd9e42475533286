"""The haplotype-cluster HMM (fastPHASE) for a cohort's unphased genotypes: each
haplotype moves along K clusters with cluster-specific allele frequencies."""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .parallel import map_add, map_chunks

#: samples per chunk of the threaded passes, statistics and dosages (fixed, so results do
#: not depend on threads)
SAMPLE_CHUNK = 25
DOSAGE_CHUNK = 8


@kernel()
def _genotype_emission(genotype, theta_row, out):
    """out[k1, k2] = P(genotype | clusters k1, k2) with allele-1 rates theta_row."""
    n_clusters = theta_row.shape[0]
    if genotype < 0:
        out[:, :] = 1.0
        return
    for a in range(n_clusters):
        p = theta_row[a]
        row = out[a]
        if genotype == 0:
            for b in range(n_clusters):
                row[b] = (1.0 - p) * (1.0 - theta_row[b])
        elif genotype == 1:
            for b in range(n_clusters):
                q = theta_row[b]
                row[b] = p * (1.0 - q) + q * (1.0 - p)
        else:
            for b in range(n_clusters):
                row[b] = p * theta_row[b]


@kernel(fastmath=REDUCE_FLAGS)
def _cluster_counts(pair, row_sums, genotype, theta_row, allele_one, copies):
    """Add one observed marker's expected copies per cluster and allele-1 emissions,
    from the cluster-pair posterior ``pair`` (K, K) and its row sums."""
    n_clusters = theta_row.shape[0]
    for a in range(n_clusters):
        copies[a] += row_sums[a]
        for b in range(n_clusters):
            copies[b] += pair[a, b]
    if genotype == 2:
        for a in range(n_clusters):
            allele_one[a] += row_sums[a]
            for b in range(n_clusters):
                allele_one[b] += pair[a, b]
    elif genotype == 1:
        for a in range(n_clusters):
            p = theta_row[a]
            for b in range(n_clusters):
                q = theta_row[b]
                first = p * (1.0 - q) / (p * (1.0 - q) + q * (1.0 - p))
                allele_one[a] += pair[a, b] * first
                allele_one[b] += pair[a, b] * (1.0 - first)


@kernel(fastmath=REDUCE_FLAGS)
def cluster_posterior(genotypes, theta, jump_to, stay, posterior, emit, allele_one, copies,
                      jumps):
    """Forward-backward of one sample's genotypes (M,) of -1/0/1/2 under the diploid
    haplotype-cluster model (fastPHASE): each copy stays in its cluster between markers m
    and m + 1 with probability stay[m], else jumps to cluster k with jump_to[m + 1, k]
    (jump_to[0] starts the chain); cluster k emits allele 1 at marker m with
    theta[m, k].  Fills posterior (M, K, K) with P(clusters k1, k2 | genotypes) and, at
    observed markers, adds the expected copies from each cluster (``copies`` (M, K)) and
    their expected allele-1 emissions (``allele_one``); adds the expected jumps into each
    cluster (``jumps`` (M, K), row 0 the starts).  ``emit`` is (M, K, K) scratch.
    Transitions factorise per copy, so every step costs O(K^2) through the pair table's
    row and column sums; each marker makes one fused pass forward and three backward.
    Returns the log-likelihood."""
    n_markers, n_clusters = theta.shape
    rows = np.zeros((n_markers, n_clusters))   # row / column sums of the normalised forward
    cols = np.zeros((n_markers, n_clusters))
    inverse = np.empty(n_markers)              # 1 / sum of each marker's forward table
    loglik = 0.0
    for m in range(n_markers):
        _genotype_emission(genotypes[m], theta[m], emit[m])
        total = 0.0
        here_cols = cols[m]
        if m == 0:
            start = jump_to[0]
            for a in range(n_clusters):
                row_total = 0.0
                for b in range(n_clusters):
                    value = start[a] * start[b] * emit[0, a, b]
                    posterior[0, a, b] = value
                    row_total += value
                    here_cols[b] += value
                rows[0, a] = row_total
                total += row_total
        else:
            t = stay[m - 1]
            both, one, none = t * t * inverse[m - 1], t * (1.0 - t), (1.0 - t) * (1.0 - t)
            land = jump_to[m]
            before_rows, before_cols = rows[m - 1], cols[m - 1]
            for a in range(n_clusters):
                row_part = one * before_rows[a]
                land_a = land[a]
                row_total = 0.0
                for b in range(n_clusters):
                    value = (both * posterior[m - 1, a, b] + row_part * land[b]
                             + land_a * (one * before_cols[b] + none * land[b])) * emit[m, a, b]
                    posterior[m, a, b] = value
                    row_total += value
                    here_cols[b] += value
                rows[m, a] = row_total
                total += row_total
        inverse[m] = 1.0 / total
        loglik += math.log(total)
        for a in range(n_clusters):  # row and column sums of the normalised table
            rows[m, a] *= inverse[m]
            here_cols[a] *= inverse[m]
    # backward: beta(m) = sum T T emit(m + 1) beta(m + 1), kept relative to
    # sum_ab alpha_m(a, b) beta_m(a, b) = 1 so that posterior = alpha beta
    beta = np.ones((n_clusters, n_clusters))
    weighted = np.empty((n_clusters, n_clusters))
    w_rows = np.empty(n_clusters)
    w_cols = np.empty(n_clusters)
    carried_col = np.empty(n_clusters)
    carried_row = np.empty(n_clusters)
    into = np.empty(n_clusters)
    previous_scale = 1.0
    for m in range(n_markers - 1, -1, -1):
        scale = 1.0
        if m < n_markers - 1:
            t = stay[m]
            land = jump_to[m + 1]
            for a in range(n_clusters):
                w_cols[a] = 0.0
            flow = 0.0
            rescale = 1.0 / previous_scale  # beta(m + 1) relative to its own marker
            for a in range(n_clusters):
                row_total = 0.0
                for b in range(n_clusters):
                    value = emit[m + 1, a, b] * beta[a, b] * rescale
                    weighted[a, b] = value
                    row_total += land[b] * value
                    w_cols[b] += land[a] * value
                w_rows[a] = row_total
                flow += land[a] * row_total
            both, one, none = t * t, t * (1.0 - t), (1.0 - t) * (1.0 - t)
            scale = 0.0
            for a in range(n_clusters):
                row_part = one * w_rows[a] + none * flow
                for b in range(n_clusters):
                    value = both * weighted[a, b] + row_part + one * w_cols[b]
                    beta[a, b] = value
                    scale += posterior[m, a, b] * value
            scale *= inverse[m]
            # expected jumps into cluster k at m + 1, by copy 1 (the other copy carried
            # from the forward's column sums) and by copy 2 (from its row sums)
            for other in range(n_clusters):
                carried_col[other] = t * cols[m, other] + (1.0 - t) * land[other]
                carried_row[other] = t * rows[m, other] + (1.0 - t) * land[other]
                into[other] = 0.0
            for k in range(n_clusters):
                total = 0.0
                for other in range(n_clusters):
                    total += carried_col[other] * weighted[k, other]
                into[k] += total
            for other in range(n_clusters):
                carried = carried_row[other]
                for k in range(n_clusters):
                    into[k] += carried * weighted[other, k]
            for k in range(n_clusters):
                jumps[m + 1, k] += (1.0 - t) * land[k] * into[k] / scale
        factor = inverse[m] / scale
        genotype = genotypes[m]
        for a in range(n_clusters):
            row_total = 0.0
            for b in range(n_clusters):
                weight = posterior[m, a, b] * beta[a, b] * factor
                posterior[m, a, b] = weight
                row_total += weight
            rows[m, a] = row_total  # now the posterior's row sums
        if m == 0:
            for a in range(n_clusters):
                for b in range(n_clusters):
                    jumps[0, b] += posterior[0, a, b]
                jumps[0, a] += rows[0, a]
        if genotype >= 0:
            _cluster_counts(posterior[m], rows[m], genotype, theta[m], allele_one[m],
                            copies[m])
        previous_scale = scale
    return loglik


@kernel(inline="always")
def _pair_buffers(n_markers, n_clusters):
    """Scratch of cluster_posterior: the posterior and emissions over cluster pairs, and
    per-marker, per-cluster sums (allele-1 emissions, copies, jumps), zeroed."""
    return (np.empty((n_markers, n_clusters, n_clusters)),
            np.empty((n_markers, n_clusters, n_clusters)), np.zeros((n_markers, n_clusters)),
            np.zeros((n_markers, n_clusters)), np.zeros((n_markers, n_clusters)))


@kernel()
def _cluster_chunk(genotypes, theta, jump_to, stay, start, stop):
    n_markers, n_clusters = theta.shape
    posterior, emit, allele_one, copies, jumps = _pair_buffers(n_markers, n_clusters)
    loglik = 0.0
    for k in range(start, stop):
        loglik += cluster_posterior(genotypes[k], theta, jump_to, stay, posterior, emit,
                                    allele_one, copies, jumps)
    return allele_one, copies, jumps, loglik


def cluster_statistics(genotypes, theta, jump_to, stay):
    """E-step of the haplotype-cluster model over samples' genotypes (N, M): expected
    allele-1 emissions and copies per marker and cluster, expected jumps into each
    cluster (row 0: starts), log-likelihood; summed in chunk order."""
    return map_add(lambda start, stop: _cluster_chunk(genotypes, theta, jump_to, stay, start,
                                                      stop), genotypes.shape[0],
                   SAMPLE_CHUNK)


@kernel()
def _cluster_dosage_chunk(genotypes, theta, jump_to, stay, start, stop, out):
    n_markers, n_clusters = theta.shape
    posterior, emit, scratch, _, jumps = _pair_buffers(n_markers, n_clusters)
    table = np.empty((n_clusters, n_clusters))
    for k in range(start, stop):
        cluster_posterior(genotypes[k], theta, jump_to, stay, posterior, emit, scratch,
                          scratch, jumps)
        for m in range(n_markers):
            for g in range(3):
                _genotype_emission(g, theta[m], table)
                total = 0.0
                for a in range(n_clusters):
                    for b in range(n_clusters):
                        total += posterior[m, a, b] * table[a, b]
                out[k, m, g] = total


def cluster_genotype_probs(genotypes, theta, jump_to, stay):
    """(N, M, 3) posterior genotype probabilities of every sample at every marker under
    the haplotype-cluster model (observed markers included)."""
    out = np.empty(genotypes.shape + (3,))
    map_chunks(lambda start, stop: _cluster_dosage_chunk(
        genotypes, theta, jump_to, stay, start, stop, out), genotypes.shape[0],
        DOSAGE_CHUNK)
    return out
