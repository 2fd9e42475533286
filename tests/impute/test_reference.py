"""ReferenceImputer on the bundled 1000 Genomes slice: monotone EM, accuracy against the
truth, phasing consistent with the genotypes, determinism at any thread count."""

import numpy as np
import pytest

from emapps.impute.copying_em import CopyingEM, CopyingParams
from emapps.impute.io import read_calls, read_genetic_map
from emapps.impute.reference import ReferenceImputer

from ..conftest import DATA

SLICE = DATA / "impute"


@pytest.fixture(scope="module")
def inputs():
    return read_calls(SLICE / "target.vcf.gz"), read_calls(SLICE / "ref.vcf.gz")


@pytest.fixture(scope="module")
def fitted(inputs):
    target, panel = inputs
    model = ReferenceImputer(random_state=0, genetic_map=read_genetic_map(
        SLICE / "chr20.slice.plink.map.gz")).fit(target, panel)
    return model, model.predict()


def test_em_never_decreases_within_a_round_and_phase_matches_genotypes(fitted):
    model, _ = fitted
    trace = np.array(model.trace_)
    rounds = np.split(trace, np.flatnonzero(np.diff(trace) < -1e-6) + 1)
    assert len(rounds) <= model.rounds  # each round is one monotone EM run
    for run in rounds:
        assert np.all(np.diff(run) >= -1e-9 * np.abs(run[1:]))
    haplotypes, genotypes = model.haplotypes_, model._genotypes
    called = genotypes >= 0
    np.testing.assert_array_equal((haplotypes[0] + haplotypes[1])[called], genotypes[called])
    assert 1e3 < model.params_.theta < 1e8 and 0 < model.params_.mismatch < 0.05


def masked_accuracy(result) -> tuple:
    """(concordance, mean r2 at common sites) of the imputed sites against the truth."""
    truth = read_calls(SLICE / "truth.vcf.gz", samples=result.samples)
    index = {key: k for k, key in enumerate(result.chrom.astype(str) + ":"
                                           + result.pos.astype(str))}
    columns = np.array([index[f"{c}:{p}"] for c, p in zip(truth.chrom, truth.pos)])
    masked = result.imputed[columns]
    true = truth.genotypes()[:, masked]
    dosage = result.dosage[:, columns[masked]]
    common = true.std(axis=0) > 0.4
    r2 = np.mean([np.corrcoef(dosage[:, s], true[:, s])[0, 1] ** 2
                  for s in np.flatnonzero(common)])
    return np.mean(np.rint(dosage) == true), r2


def test_imputed_dosages_track_the_truth(fitted):
    model, result = fitted
    concordance, r2 = masked_accuracy(result)
    assert concordance > 0.97 and r2 > 0.8
    probs = np.stack(result.genotype_probs())
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-12)
    assert np.all((result.dosage_r2 >= 0) & (result.dosage_r2 <= 1))


def test_composite_panels_impute_nearly_as_well_as_the_whole_panel(fitted, inputs):
    """A quarter of the 480 haplotypes per sample for phasing, half for imputing."""
    target, panel = inputs
    reduced = ReferenceImputer(random_state=0, phase_states=120, impute_states=240,
                               genetic_map=read_genetic_map(
                                   SLICE / "chr20.slice.plink.map.gz")).fit(target, panel)
    result = reduced.predict()
    assert result.record["phase_states"] == 120 and result.record["impute_states"] == 240
    whole, part = masked_accuracy(fitted[1]), masked_accuracy(result)
    assert part[0] > whole[0] - 0.005 and part[1] > whole[1] - 0.03
    haplotypes, genotypes = reduced.haplotypes_, reduced._genotypes
    called = genotypes >= 0
    np.testing.assert_array_equal((haplotypes[0] + haplotypes[1])[called], genotypes[called])


def test_the_panel_index_imputes_as_well_as_the_whole_panel_scan(inputs):
    """The scan scores every panel haplotype for every sample: the reference mode."""
    target, panel = inputs
    accuracy = {}
    for search in ("scan", "index"):
        model = ReferenceImputer(random_state=0, phase_states=120, impute_states=240,
                                 search=search).fit(target, panel)
        accuracy[search] = masked_accuracy(model.predict())
    assert accuracy["index"][0] > accuracy["scan"][0] - 0.002
    assert accuracy["index"][1] > accuracy["scan"][1] - 0.01


@pytest.mark.parametrize("states", [{}, {"phase_states": 100, "impute_states": 200},
                                    {"phase_states": 100, "search": "scan"}])
def test_same_seed_same_output_at_one_and_two_threads(inputs, threads, states):
    target, panel = inputs
    outputs = []
    for n_threads in (1, 2):
        threads(n_threads)
        result = ReferenceImputer(random_state=3, max_iter=3, **states).fit(target,
                                                                            panel).predict()
        outputs.append(np.concatenate(result.haplotype_probs))
    assert np.array_equal(*outputs)


def test_m_step_solves_the_expected_complete_log_likelihood():
    rng = np.random.default_rng(0)
    panel = np.zeros((50, 20), dtype=np.uint8)
    model = CopyingEM(panel, rng.uniform(1e-6, 1e-4, size=49))
    jumps = rng.uniform(0.1, 5.0, size=49)
    theta = model._theta(jumps, 40.0, 1e4)
    x = model.scaled

    def objective(value):
        return np.sum(jumps * np.log(-np.expm1(-value * x)) - (40.0 - jumps) * value * x)

    assert objective(theta) >= max(objective(theta * 1.01), objective(theta * 0.99))



def test_the_first_run_and_a_cached_run_write_the_same_records(tmp_path):
    """Compiled kernels and kernels loaded from numba's cache give the same phase and
    imputation: the discrete steps (Viterbi path, phase moves) read no fast-math sums."""
    import gzip
    import os
    import subprocess
    import sys

    environment = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    records = []
    for run in ("compiled", "cached"):
        output = tmp_path / f"{run}.vcf.gz"
        subprocess.run([sys.executable, "-m", "emapps", "impute",
                        str(DATA / "impute" / "target.vcf.gz"), "--ref",
                        str(DATA / "impute" / "ref.vcf.gz"), "-o", str(output), "--seed", "1",
                        "-q"], env=environment, check=True, timeout=600)
        with gzip.open(output, "rt") as handle:
            records.append([line for line in handle if not line.startswith("#")])
    assert len(records[0]) > 1000 and records[0] == records[1]


def test_interval_rates_maximise_the_expected_complete_log_posterior():
    """With a prior, each interval's switch rate is the MAP of its expected jumps J_m
    among 2N haplotypes under Beta priors centred on the single-theta rates."""
    rng = np.random.default_rng(1)
    model = CopyingEM(np.zeros((30, 10), dtype=np.uint8), rng.uniform(1e-6, 1e-4, size=29))
    centre = model.switch(CopyingParams(2e5, 1e-3))
    model.prior = (centre, 8.0)
    stats = {"jumps": rng.uniform(0.0, 3.0, size=29), "weight": 40.0, "mismatches": 2.0,
             "observed": 1000.0, "loglik": 0.0}
    params = model.m_step(CopyingParams(2e5, 1e-3), stats)

    def objective(rates):
        jumps = stats["jumps"]
        return (np.sum(jumps * np.log(rates) + (40.0 - jumps) * np.log1p(-rates))
                + model.log_prior(CopyingParams(2e5, 1e-3, rates)))

    best = objective(params.rates)
    for m in range(29):   # moving any one rate either way lowers the objective
        for factor in (0.99, 1.01):
            moved = params.rates.copy()
            moved[m] *= factor
            assert best > objective(moved)
    assert model.switch(params) is params.rates and params.mismatch == 2e-3


def test_viterbi_lists_grow_with_the_panel():
    from emapps.impute.reference import viterbi_states
    assert [viterbi_states(h) for h in (480, 10_000, 40_000, 100_000, 1_000_000)] == \
        [16, 16, 37, 64, 64]
