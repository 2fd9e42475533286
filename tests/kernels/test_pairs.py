"""Pair-mixture kernels against their plain-numpy twins and brute-force enumeration."""

import itertools

import numpy as np
import pytest

from emapps.kernels.pairs import (complement_candidates, compatible_pairs, extend_pairs,
                                  pair_mixture_pass, pair_posteriors)

from . import reference


def random_pairs(rng, n_subjects=50, n_haplotypes=30):
    sizes = rng.integers(1, 9, size=n_subjects)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    first = rng.integers(0, n_haplotypes, size=offsets[-1])
    second = np.where(rng.random(offsets[-1]) < 0.2, first,
                      rng.integers(0, n_haplotypes, size=offsets[-1]))
    freq = rng.dirichlet(np.ones(n_haplotypes))
    freq[rng.integers(0, n_haplotypes, 3)] = 0.0  # zero frequencies stay exact
    return offsets, first, second, freq


def random_genotypes(rng, n_subjects, n_alleles, missing=0.15, phased=0.3):
    n_loci = len(n_alleles)
    alleles = np.stack([rng.integers(0, a, size=(n_subjects, 2)) for a in n_alleles], axis=1)
    alleles[rng.random(alleles.shape) < missing] = -1
    return alleles.astype(np.int16), rng.random((n_subjects, n_loci)) < phased


def universe(n_alleles):
    return np.array(list(itertools.product(*[range(a) for a in n_alleles])), dtype=np.int16)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("scale", [1.0, 1e-150])
def test_pair_mixture_matches_reference(seed, scale, threads):
    """Summed in linear space, and in log space where tiny frequencies (scale 1e-150:
    products near 1e-300) would underflow."""
    rng = np.random.default_rng(seed)
    offsets, first, second, freq = random_pairs(rng)
    freq[: freq.shape[0] // 2] *= scale
    weights = rng.uniform(0.5, 2.0, size=offsets.shape[0] - 1)
    with np.errstate(divide="ignore"):
        expected = reference.pair_mixture(offsets, first, second, np.log(freq), weights)
    for n_threads in (1, 2):
        threads(n_threads)
        counts, loglik = pair_mixture_pass(offsets, first, second, freq, weights)
        np.testing.assert_allclose(counts, expected[0], rtol=1e-12, atol=1e-300)
        assert loglik == pytest.approx(expected[1], rel=1e-12)
        assert np.isfinite(loglik) == np.isfinite(expected[1])


def test_pair_posteriors_normalise_per_subject():
    rng = np.random.default_rng(5)
    offsets, first, second, freq = random_pairs(rng)
    posterior, subject_loglik = pair_posteriors(offsets, first, second, freq)
    sums = np.add.reduceat(posterior, offsets[:-1])
    finite = np.isfinite(subject_loglik)
    np.testing.assert_allclose(sums[finite], 1.0)
    assert np.all(posterior[~np.repeat(finite, np.diff(offsets))] == 0.0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("first_new", [0, 20])
def test_compatible_pairs_is_exactly_the_brute_force_set(seed, first_new):
    """All at once, or the pairs of rows >= first_new added to the known pairs of the
    rows before (each subject's known pairs kept first)."""
    rng = np.random.default_rng(seed)
    n_alleles = [2, 3, 2, 4]
    genotypes, phased = random_genotypes(rng, 25, n_alleles)
    codes = universe(n_alleles)
    none = np.empty(0, dtype=np.int64)
    empty = (np.zeros(genotypes.shape[0] + 1, dtype=np.int64), none, none)
    known = (compatible_pairs(codes[:first_new], genotypes, phased, 0, *empty)
             if first_new else empty)
    offsets, first, second = compatible_pairs(codes, genotypes, phased, first_new, *known)
    for i in range(genotypes.shape[0]):
        found = [(first[j], second[j]) for j in range(offsets[i], offsets[i + 1])]
        expected = {(a, b) for a in range(len(codes)) for b in range(a, len(codes))
                    if reference.pair_fits(codes[a], codes[b], genotypes[i], phased[i])}
        assert len(found) == len(set(found))
        assert set(found) == expected
        n_known = known[0][i + 1] - known[0][i]
        assert found[:n_known] == list(zip(known[1][known[0][i]:known[0][i + 1]],
                                           known[2][known[0][i]:known[0][i + 1]]))


@pytest.mark.parametrize("seed", range(3))
def test_inserting_loci_one_by_one_enumerates_every_compatible_pair(seed):
    rng = np.random.default_rng(seed)
    n_alleles = [3, 2, 2, 3]
    genotypes, phased = random_genotypes(rng, 20, n_alleles)
    n = genotypes.shape[0]
    offsets = np.arange(n + 1, dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    second = np.zeros(n, dtype=np.int64)
    oriented = np.zeros(n, dtype=bool)
    haplotypes = [()]
    for locus, a in enumerate(n_alleles):
        offsets, key1, key2, oriented = extend_pairs(offsets, first, second, oriented,
                                                     genotypes[:, locus], phased[:, locus], a)
        keys = np.unique(np.concatenate([key1, key2]))
        haplotypes = [haplotypes[k // a] + (k % a,) for k in keys]
        first, second = np.searchsorted(keys, key1), np.searchsorted(keys, key2)
    codes = universe(n_alleles)
    for i in range(n):
        found = [tuple(sorted((haplotypes[first[j]], haplotypes[second[j]])))
                 for j in range(offsets[i], offsets[i + 1])]
        assert len(found) == len(set(found)), "an unordered pair was enumerated twice"
        expected = {tuple(sorted((tuple(codes[a]), tuple(codes[b]))))
                    for a in range(len(codes)) for b in range(a, len(codes))
                    if reference.pair_fits(codes[a], codes[b], genotypes[i], phased[i])}
        assert set(found) == expected


def test_complements_complete_each_haplotype_to_the_genotype():
    rng = np.random.default_rng(11)
    n_alleles = [2, 3, 2]
    genotypes, phased = random_genotypes(rng, 30, n_alleles)
    codes = universe(n_alleles)
    choices = np.zeros((3, 3), dtype=np.int16)
    for locus, a in enumerate(n_alleles):
        choices[locus, :a] = np.arange(a)
    subjects, parents, candidates, skipped = complement_candidates(
        codes, genotypes, phased, np.ones(len(codes), dtype=bool), choices,
        np.array(n_alleles, dtype=np.int64), 1000)
    assert skipped == 0
    for i in range(genotypes.shape[0]):
        rows = subjects == i
        found = {(parents[r], tuple(candidates[r])) for r in np.flatnonzero(rows)}
        expected = {(g, tuple(codes[h])) for g in range(len(codes)) for h in range(len(codes))
                    if reference.pair_fits(codes[g], codes[h], genotypes[i], phased[i])}
        assert found == expected


def test_complements_past_the_expansion_cap_skip_the_subject():
    genotypes = np.full((1, 3, 2), -1, dtype=np.int16)
    codes = universe([3, 3, 3])
    choices = np.tile(np.arange(3, dtype=np.int16), (3, 1))
    *_, skipped = complement_candidates(codes, genotypes, np.zeros((1, 3), dtype=bool),
                                        np.ones(len(codes), dtype=bool), choices,
                                        np.full(3, 3, dtype=np.int64), 10)
    assert skipped == 1
