"""The cohort as its own panel (copying model): missing calls filled and the cohort phased
on the bundled 1000 Genomes slice, theta chosen by held-out calls, rare heterozygotes
phased, the same at 1 and 2 threads."""

import numpy as np

from emapps.impute.cohort_copier import THETA_STEPS, CohortCopier


def test_the_cohort_as_its_own_panel_fills_and_phases(cohort):
    truth, masked, _ = cohort
    result = CohortCopier(rounds=6, random_state=0).fit(masked).predict()
    true, given = truth.genotypes(), masked.genotypes()
    missing = (given < 0) & (true >= 0)
    best = np.argmax(np.stack(result.genotype_probs(), axis=2), axis=2)
    assert np.mean(best[missing] == true[missing]) > 0.95
    quality = result.dosage_r2  # over the filled entries only; 1 where none was filled
    assert np.all(quality[~(given < 0).any(axis=0)] == 1.0)
    assert np.all((quality >= 0) & (quality <= 1)) and quality.mean() < 1.0
    codes = result.genotype_codes()
    decoded = np.array([0, 1, 1, 2])[codes]  # phased output everywhere
    np.testing.assert_array_equal(decoded[given >= 0], given[given >= 0])


def test_cohort_copying_chooses_theta_by_held_out_calls_and_phases_rare_heterozygotes(
        cohort, threads):
    _, masked, _ = cohort
    outputs = []
    for n_threads in (1, 2):
        threads(n_threads)
        model = CohortCopier(rounds=2, refine_rounds=1, refine_states=32,
                             random_state=4).fit(masked)
        outputs.append((model.haplotypes_, np.concatenate(model.predict().haplotype_probs)))
    assert all(np.array_equal(one, two) for one, two in zip(*outputs))  # 1 = 2 threads
    grid = model.theta * THETA_STEPS
    assert set(grid) <= set(model.theta_scores_) and len(model.theta_scores_) in (5, 6)
    assert grid[0] <= model.theta_ <= grid[-1]
    assert model.theta_scores_[model.theta_] == max(model.theta_scores_.values())
    given = masked.genotypes()
    rare_heterozygotes = (given == 1) & ~model.common_[None, :]
    assert 0 < model.common_.sum() < masked.n_sites and rare_heterozygotes.any()
    alleles = model.haplotypes_[:, rare_heterozygotes]
    assert np.all(alleles.sum(axis=0) == 1)                   # one ALT, on one haplotype
    assert np.all(model.haplotypes_[:, given < 0] == -1)


def test_averaging_phasings_keeps_the_calls_and_averages_the_genotype_probabilities(cohort):
    """Two phasings: the observed calls as given (phased as the first phasing), the
    missing ones the argmax of the mean genotype probabilities, which sum to 1."""
    truth, masked, _ = cohort
    settings = {"rounds": 2, "refine_rounds": 1, "refine_states": 32, "random_state": 2}
    one = CohortCopier(phasings=1, **settings).fit(masked)
    two = CohortCopier(phasings=2, **settings).fit(masked)
    np.testing.assert_array_equal(one.haplotypes_, two.haplotypes_)  # the first phasing
    single, averaged = one.predict(), two.predict()
    assert averaged.record["phasings"] == 2
    probs = np.stack(averaged.genotype_probs())
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-12)
    given = masked.genotypes()
    missing = given < 0
    assert not np.allclose(probs[:, missing], np.stack(single.genotype_probs())[:, missing])
    codes = averaged.genotype_codes()
    decoded = np.array([0, 1, 1, 2])[codes]
    np.testing.assert_array_equal(decoded[~missing], given[~missing])
    np.testing.assert_array_equal(decoded[missing], np.argmax(probs, axis=0)[missing])
    np.testing.assert_allclose(averaged.dosage, probs[1] + 2 * probs[2])
