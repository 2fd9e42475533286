"""The panel index's candidate searches against the whole-panel scan."""

import numpy as np
import pytest

from emapps.kernels.copying.matching import nearest_haplotypes, pack_bits
from emapps.kernels.copying.patterns import pattern_candidates, window_patterns
from emapps.kernels.copying.pbwt import longest_matches


def mosaic_panel(rng, n_markers, n_haps, n_founders=12, noise=0.02):
    founders = rng.integers(0, 2, (n_markers, n_founders)).astype(np.uint8)
    panel = founders[:, rng.integers(0, n_founders, n_haps)]
    return founders, (panel ^ (rng.random(panel.shape) < noise)).astype(np.uint8)


@pytest.mark.parametrize("width", [32, 64])
@pytest.mark.parametrize("phased", [False, True])
def test_pattern_search_gives_the_scans_lists(width, phased):
    rng = np.random.default_rng(width + phased)
    founders, panel = mosaic_panel(rng, 100, 400)
    n_samples = 30
    genotypes = (founders[:, rng.integers(0, 12, n_samples)]
                 + founders[:, rng.integers(0, 12, n_samples)]).T.astype(np.int8)
    genotypes[rng.random(genotypes.shape) < 0.05] = -1
    if phased:
        haplotypes = rng.integers(0, 2, (2,) + genotypes.shape).astype(np.int8)
        haplotypes[:, genotypes < 0] = -1
        queries = [(haplotypes[c] == 1, haplotypes[c] == 0) for c in (0, 1)]
    else:
        queries = [(genotypes == 2, genotypes == 0)]
    ones = np.stack([pack_bits(a, width) for a, _ in queries], axis=1)
    zeros = np.stack([pack_bits(b, width) for _, b in queries], axis=1)
    owners = np.full((n_samples, 2), -1, dtype=np.int64)
    rows = panel.T
    scanned = nearest_haplotypes(pack_bits(rows == 1, width), pack_bits(rows == 0, width),
                                 ones, zeros, owners, 16, 0, False, width, panel.shape[0])
    indexed = pattern_candidates(window_patterns(pack_bits(rows == 1, width)), ones, zeros,
                                 16)
    for scan, index in zip(scanned, indexed):
        np.testing.assert_array_equal(scan, index)


def exact_run_ending(panel, query, step):
    """Per haplotype, the length of its exact match with ``query`` ending at ``step``."""
    equal = panel[:step + 1] == query[:step + 1, None]
    broken = ~equal[::-1]
    return np.where(broken.any(axis=0), broken.argmax(axis=0), step + 1)


@pytest.mark.parametrize("reverse", [False, True])
def test_the_positional_bwt_finds_the_longest_matches(reverse):
    rng = np.random.default_rng(3)
    founders, panel = mosaic_panel(rng, 60, 300, noise=0.03)
    queries = (founders[:, rng.integers(0, 12, 10)]
               ^ (rng.random((60, 10)) < 0.03)).astype(np.uint8)
    owners = np.full((10, 2), -1, dtype=np.int64)
    owners[0] = [5, 7]
    stops, keep = np.array([15, 31, 47, 59]), 12
    picks = np.empty((10, stops.shape[0], keep), dtype=np.int64)
    longest_matches(panel, queries, owners, stops, keep, reverse, picks)
    ordered = (panel[::-1], queries[::-1]) if reverse else (panel, queries)
    for query in range(10):
        allowed = np.setdiff1d(np.arange(300), owners[query])
        for k, step in enumerate(stops):
            lengths = exact_run_ending(ordered[0], ordered[1][:, query], step)
            best = np.sort(lengths[allowed])[::-1][:keep]
            np.testing.assert_array_equal(np.sort(lengths[picks[query, k]])[::-1], best)
            assert not np.isin(picks[query, k], owners[query]).any()
