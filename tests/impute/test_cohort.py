"""Haplotype-cluster (fastPHASE) cohort imputation: monotone MAP-EM, and missing calls
filled on the bundled 1000 Genomes slice (the kernel's twin is in tests/kernels)."""

import numpy as np

from emapps.impute.cohort_clusters import ClusterEM, CohortImputer


def test_map_em_never_decreases(cohort):
    _, masked, _ = cohort
    model = ClusterEM(masked.n_sites, 4)
    from emapps.em import fit_em
    result = fit_em(model, masked.genotypes(), seed=0, max_iter=15, tol=0, warn=False)
    trace = np.array(result.trace)
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))


def test_missing_calls_are_filled_well(cohort):
    truth, masked, hidden = cohort
    result = CohortImputer(6, n_init=2, max_iter=15, random_state=0).fit(masked).predict()
    true, given = truth.genotypes(), masked.genotypes()
    missing = (given < 0) & (true >= 0)
    assert hidden == missing.sum() > 500
    best = np.argmax(result.probs, axis=2)
    assert np.mean(best[missing] == true[missing]) > 0.93
    np.testing.assert_allclose(result.probs.sum(axis=2), 1.0, atol=1e-10)
    codes = result.genotype_codes()
    assert np.all(codes[missing] >= 4)  # filled calls are written unphased
    decoded = np.array([0, 1, 1, 2, 0, 1, 2])[codes]  # 0|0 0|1 1|0 1|1 0/0 0/1 1/1
    np.testing.assert_array_equal(decoded[given >= 0], given[given >= 0])
