"""The haplotype-cluster (fastPHASE) kernel against a dense forward-backward over
ordered cluster pairs."""

import itertools

import numpy as np
import pytest

from emapps.kernels.haplotype_clusters import cluster_posterior


def dense(genotypes, theta, jump_to, stay):
    """Forward-backward over ordered cluster pairs with explicit K^2 x K^2 transitions."""
    n_markers, k = theta.shape
    pairs = list(itertools.product(range(k), repeat=2))

    def emit(m, a, b):
        g, p, q = genotypes[m], theta[m, a], theta[m, b]
        if g < 0:
            return 1.0
        return [(1 - p) * (1 - q), p * (1 - q) + q * (1 - p), p * q][g]

    def single(m, j, l):  # transition of one copy into marker m
        return stay[m - 1] * (j == l) + (1 - stay[m - 1]) * jump_to[m, l]

    e = np.array([[emit(m, a, b) for a, b in pairs] for m in range(n_markers)])
    trans = [None] + [np.array([[single(m, a, c) * single(m, b, d) for c, d in pairs]
                                for a, b in pairs]) for m in range(1, n_markers)]
    alpha = np.zeros((n_markers, k * k))
    alpha[0] = np.array([jump_to[0, a] * jump_to[0, b] for a, b in pairs]) * e[0]
    for m in range(1, n_markers):
        alpha[m] = (alpha[m - 1] @ trans[m]) * e[m]
    beta = np.ones((n_markers, k * k))
    for m in range(n_markers - 2, -1, -1):
        beta[m] = trans[m + 1] @ (e[m + 1] * beta[m + 1])
    total = alpha[-1].sum()
    posterior = (alpha * beta / total).reshape(n_markers, k, k)
    jumps = np.zeros((n_markers, k))
    jumps[0] = posterior[0].sum(axis=1) + posterior[0].sum(axis=0)
    for m in range(1, n_markers):
        flow = alpha[m - 1][:, None] * trans[m] * (e[m] * beta[m])[None, :] / total
        for (a, b), row in zip(pairs, flow):
            for (c, d), value in zip(pairs, row):
                jump_one = (1 - stay[m - 1]) * jump_to[m, c] / single(m, a, c)
                jump_two = (1 - stay[m - 1]) * jump_to[m, d] / single(m, b, d)
                jumps[m, c] += value * jump_one
                jumps[m, d] += value * jump_two
    return posterior, np.log(total), jumps


def test_kernel_matches_dense_pairs():
    rng = np.random.default_rng(2)
    n_markers, k = 7, 3
    theta = rng.uniform(0.05, 0.95, size=(n_markers, k))
    jump_to = rng.dirichlet(np.ones(k), size=n_markers)
    stay = rng.uniform(0.3, 0.95, size=n_markers - 1)
    genotypes = np.array([0, 1, 2, -1, 1, 0, 2], dtype=np.int8)
    posterior = np.empty((n_markers, k, k))
    emit = np.empty((n_markers, k, k))
    allele_one = np.zeros((n_markers, k))
    copies = np.zeros((n_markers, k))
    jumps = np.zeros((n_markers, k))
    loglik = cluster_posterior(genotypes, theta, jump_to, stay, posterior, emit, allele_one,
                               copies, jumps)
    want_posterior, want_loglik, want_jumps = dense(genotypes, theta, jump_to, stay)
    assert loglik == pytest.approx(want_loglik, rel=1e-12)
    np.testing.assert_allclose(posterior, want_posterior, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(jumps, want_jumps, rtol=1e-10, atol=1e-14)
    want_copies = want_posterior.sum(axis=2) + want_posterior.sum(axis=1)
    want_copies[genotypes < 0] = 0
    np.testing.assert_allclose(copies, want_copies, rtol=1e-10, atol=1e-14)
    homozygous_alt = genotypes == 2
    np.testing.assert_allclose(allele_one[homozygous_alt], copies[homozygous_alt], rtol=1e-12)
    assert np.all(allele_one[genotypes == 0] == 0)
