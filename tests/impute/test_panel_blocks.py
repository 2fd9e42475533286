"""A panel stored as blocks of distinct sequences holds every allele (imputing from it is
tested against the whole-panel pass in tests/kernels/test_copying.py)."""

import numpy as np

from emapps.impute.panel_blocks import build_blocks
from emapps.kernels.copying.blocks import MAX_SEQUENCES


def mosaic(rng, n_sites, n_haps, n_founders=400):
    """Haplotypes copying founders in segments, with private mutations: enough distinct
    sequences that blocks stay short."""
    founders = rng.integers(0, 2, (n_sites, n_founders)).astype(np.uint8)
    rows = np.empty((n_sites, n_haps), dtype=np.uint8)
    for h in range(n_haps):
        cuts = np.sort(rng.choice(n_sites, 4, replace=False))
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n_sites]):
            rows[lo:hi, h] = founders[lo:hi, rng.integers(n_founders)]
    return rows ^ (rng.random(rows.shape) < 0.002)


def test_blocks_hold_every_allele_and_at_most_255_sequences():
    rng = np.random.default_rng(0)
    rows = mosaic(rng, 300, 1000)
    blocks = build_blocks(rows)
    assert blocks.bounds.shape[0] > 3                      # several blocks
    np.testing.assert_array_equal(blocks.rows(np.arange(300)), rows)
    picked = np.array([0, 7, 150, 299])
    np.testing.assert_array_equal(blocks.rows(picked), rows[picked])
    kept = blocks.subset(picked)                 # a region's sites, blocks not rebuilt
    np.testing.assert_array_equal(kept.rows(np.arange(4)), rows[picked])
    for block in range(blocks.bounds.shape[0] - 1):
        assert blocks.labels[block].max() < MAX_SEQUENCES
        alleles = blocks.block_alleles(block)
        assert np.unique(alleles, axis=0).shape[0] == alleles.shape[0]
