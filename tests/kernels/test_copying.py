"""Copying-model kernels against dense numpy twins: haploid forward-backward and its E-step
statistics, interpolated imputation, the diploid Viterbi path, and phase refinement."""

import itertools

import numpy as np
import pytest

from emapps.impute.candidates import carriers_of
from emapps.kernels.copying.diploid import diploid_phase
from emapps.kernels.copying.haploid import (haploid_posterior, haploid_statistics,
                                            impute_haplotypes, refine_phase)


def dense_forward_backward(panel, observed, switch, mismatch):
    """Textbook forward-backward with full H x H transition matrices."""
    n_markers, n_haps = panel.shape
    emit = np.where(observed[:, None] < 0, 1.0,
                    np.where(panel == observed[:, None], 1 - mismatch, mismatch))
    transitions = [(1 - rho) * np.eye(n_haps) + rho / n_haps for rho in switch]
    alpha = np.zeros((n_markers, n_haps))
    alpha[0] = emit[0] / n_haps
    for m in range(1, n_markers):
        alpha[m] = (alpha[m - 1] @ transitions[m - 1]) * emit[m]
    beta = np.ones((n_markers, n_haps))
    for m in range(n_markers - 2, -1, -1):
        beta[m] = transitions[m] @ (emit[m + 1] * beta[m + 1])
    likelihood = alpha[-1].sum()
    posterior = alpha * beta / likelihood
    jumps = np.array([(alpha[m][:, None] * (switch[m] / n_haps)
                       * (emit[m + 1] * beta[m + 1])[None, :]).sum() / likelihood
                      for m in range(n_markers - 1)])
    mismatches = sum(posterior[m][panel[m] != observed[m]].sum()
                     for m in range(n_markers) if observed[m] >= 0)
    return posterior, np.log(likelihood), jumps, mismatches


@pytest.fixture
def small():
    rng = np.random.default_rng(3)
    panel = (rng.random((12, 7)) < 0.4).astype(np.uint8)
    observed = panel[:, 2].astype(np.int8).copy()
    observed[[3, 8]] = 1 - observed[[3, 8]]
    observed[5] = -1
    switch = rng.uniform(0.01, 0.3, size=11)
    return panel, observed, switch, 0.05


def test_haploid_posterior_matches_dense_forward_backward(small):
    panel, observed, switch, mismatch = small
    posterior = np.empty(panel.shape)
    jumps = np.zeros(panel.shape[0] - 1)
    loglik, mismatches, seen = haploid_posterior(panel, observed, switch, mismatch, posterior,
                                                 jumps)
    want_posterior, want_loglik, want_jumps, want_mismatches = dense_forward_backward(
        panel, observed, switch, mismatch)
    np.testing.assert_allclose(posterior, want_posterior, rtol=1e-10, atol=1e-14)
    assert loglik == pytest.approx(want_loglik, rel=1e-12)
    np.testing.assert_allclose(jumps, want_jumps, rtol=1e-10)
    assert mismatches == pytest.approx(want_mismatches, rel=1e-10)
    assert seen == 11


def test_statistics_add_over_haplotypes_alike_at_one_and_two_threads(small, threads):
    panel, observed, switch, mismatch = small
    rng = np.random.default_rng(4)
    haplotypes = np.where(rng.random((20, 12)) < 0.1, -1,
                          panel[:, rng.integers(0, 7, size=20)].T).astype(np.int8)
    results = []
    for n_threads in (1, 2):
        threads(n_threads)
        results.append(haploid_statistics(panel, haplotypes, switch, mismatch))
    for one, two in zip(*results):
        assert np.array_equal(one, two)
    total = sum(dense_forward_backward(panel, h, switch, mismatch)[1] for h in haplotypes)
    assert results[0][3] == pytest.approx(total, rel=1e-12)


def test_imputation_interpolates_the_posteriors_of_flanking_markers(small):
    from emapps.impute.candidates import carriers_of
    panel, observed, switch, mismatch = small
    rng = np.random.default_rng(5)
    full = (rng.random((30, 7)) < 0.4).astype(np.uint8)   # S = 30 panel sites
    halves = (full == 1) & (rng.random((30, 7)) < 0.3)     # ALT of unknown phase: half
    left = np.sort(rng.integers(0, 12, size=30))
    weight = np.where(left < 11, rng.random(30), 0.0)
    probs = impute_haplotypes(panel, observed[None], switch, mismatch,
                              *carriers_of(full, halves), left, weight)
    posterior = dense_forward_backward(panel, observed, switch, mismatch)[0]
    following = np.minimum(left + 1, 11)
    mixed = (1 - weight)[:, None] * posterior[left] + weight[:, None] * posterior[following]
    alt_share = np.where(halves, 0.5, full)
    # the imputation pass runs in single precision
    np.testing.assert_allclose(probs[0], (mixed * alt_share).sum(axis=1), rtol=1e-5,
                               atol=1e-7)


def brute_viterbi(panel, genotypes, switch, mismatch, allowed):
    """Best path over ordered pairs of the haplotypes allowed at each marker (a list of
    index lists): a copy keeps its haplotype with 1 - rho + rho / L or lands on one of
    the L allowed with rho / L."""
    keep, wrong = 1 - mismatch, mismatch
    table = {0: [keep ** 2, keep * wrong, wrong ** 2],
             1: [2 * keep * wrong, keep ** 2 + wrong ** 2, 2 * keep * wrong],
             2: [wrong ** 2, keep * wrong, keep ** 2]}

    def emit(m, i, j):
        return 1.0 if genotypes[m] < 0 else table[genotypes[m]][panel[m, i] + panel[m, j]]

    score = {(i, j): np.log(emit(0, i, j)) for i, j in itertools.product(allowed[0], repeat=2)}
    for m in range(1, len(genotypes)):
        rho, size = switch[m - 1], len(allowed[m])
        step = lambda a, b: np.log((1 - rho) * (a == b) + rho / size)  # noqa: E731
        score = {(i, j): max(value + step(p, i) + step(q, j) for (p, q), value in score.items())
                 + np.log(emit(m, i, j)) for i, j in itertools.product(allowed[m], repeat=2)}
    return max(score.values())


@pytest.mark.parametrize("precision, tolerance", [(np.float64, 1e-10), (np.float32, 1e-6)])
@pytest.mark.parametrize("windows", [[[0, 1, 2, 3]], [[0, 1, 3], [1, 2, 3], [0, 2]]])
def test_diploid_viterbi_finds_the_best_pair_path(windows, precision, tolerance):
    rng = np.random.default_rng(6)
    panel = (rng.random((9, 4)) < 0.5).astype(np.uint8)
    genotypes = (panel[:, 0] + panel[:, 3]).astype(np.int8)
    genotypes[[2, 6]] = [1, -1]
    switch = rng.uniform(0.05, 0.4, size=8)
    bounds = np.linspace(0, 9, len(windows) + 1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(w) for w in windows])]).astype(np.int64)
    candidates = np.concatenate(windows).astype(np.int64)
    allowed = [windows[np.searchsorted(bounds, m, side="right") - 1] for m in range(9)]
    out = np.empty((2, 9), dtype=np.int8)
    log_prob = diploid_phase(panel, genotypes, bounds, offsets, candidates, switch, 0.02, out,
                             np.empty(0, dtype=precision))
    assert log_prob == pytest.approx(brute_viterbi(panel, genotypes, switch, 0.02, allowed),
                                     rel=tolerance)
    called = genotypes >= 0
    np.testing.assert_array_equal((out[0] + out[1])[called], genotypes[called])


def scratch(panel):
    """refine_phase's forward and backward scratch for a panel (M, H)."""
    return np.empty((2,) + panel.shape), np.empty((2,) + panel.shape)


def test_refinement_repairs_a_switch_error_and_never_lowers_the_likelihood():
    rng = np.random.default_rng(7)
    panel = (rng.random((60, 10)) < 0.5).astype(np.uint8)
    truth = np.stack([panel[:, 1], panel[:, 6]]).astype(np.int8)
    heterozygous = truth[0] != truth[1]
    start = truth.copy()
    start[:, 30:] = start[::-1, 30:]  # one switch error in the middle
    switch = np.full(59, 0.01)

    def loglik(alleles):
        return haploid_statistics(panel, np.ascontiguousarray(alleles), switch, 0.01)[3]

    fixed = start.copy()
    moves = refine_phase(panel, fixed, heterozygous, switch, 0.01, 20, 5,
                         np.empty((2, 60), dtype=np.int8), *scratch(panel))
    assert moves >= 1 and loglik(fixed) > loglik(start)
    same = fixed[0] == truth[0]
    assert same.all() or (~same).all()  # the truth up to the labels of the two haplotypes


def test_bit_packing_and_nearest_haplotypes_by_window():
    from emapps.kernels.copying.matching import nearest_haplotypes, pack_bits
    rng = np.random.default_rng(8)
    panel = rng.random((12, 150)) < 0.4                     # 12 haplotypes x 150 markers
    packed = pack_bits(panel, 64)
    assert packed.shape == (12, 3)
    unpacked = (packed[:, :, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    np.testing.assert_array_equal(unpacked.reshape(12, -1)[:, :150].astype(bool), panel)
    query = panel[5] ^ (rng.random(150) < 0.05)              # near haplotype 5
    ones, zeros = pack_bits(query[None], 64), pack_bits(~query[None], 64)
    for span in (0, 1):   # window w alone, or windows w - 1 .. w + 1 with w twice
        offsets, candidates = nearest_haplotypes(pack_bits(panel, 64), pack_bits(~panel, 64),
                                                 ones[:, None], zeros[:, None],
                                                 np.array([[5, 11]]), 3, span)
        for w in range(3):
            chosen = candidates[offsets[0, w]:offsets[0, w + 1]]
            differs = panel != query
            block = slice(64 * w, min(64 * w + 64, 150))
            around = slice(64 * max(w - span, 0), min(64 * (w + span + 1), 150))
            distance = differs[:, block].sum(axis=1) + differs[:, around].sum(axis=1)
            distance[[5, 11]] = 999                            # a sample never copies itself
            assert len(chosen) == 3 and 5 not in chosen and 11 not in chosen
            assert sorted(distance[chosen]) == sorted(distance)[:3]


def test_leave_one_out_imputation_ignores_the_samples_own_haplotypes():
    from emapps.kernels.copying.haploid import impute_leave_out
    rng = np.random.default_rng(9)
    panel = (rng.random((40, 10)) < 0.4).astype(np.uint8)   # 5 samples: columns k, 5 + k
    panel[20] = 0
    panel[20, [2, 7]] = 1                                    # only sample 2 carries it
    haplotypes = np.stack([panel[:, :5].T, panel[:, 5:].T]).astype(np.int8)
    haplotypes[:, :, 20] = -1                                # everyone's call is missing
    rows, columns = np.nonzero(panel == 1)
    pointer = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=40))])
    owners = np.column_stack([np.arange(5), 5 + np.arange(5)])
    arguments = (np.full(39, 0.05), 0.01, pointer, columns, np.ones(40, dtype=np.int8),
                 np.arange(40), np.zeros(40))
    probs = impute_leave_out(panel, haplotypes, owners, *arguments)
    assert probs[:, 2, 20].max() < 1e-6   # its own copies would have said 1
    copying_itself = impute_haplotypes(panel, haplotypes[:, 2], *arguments)
    assert copying_itself[:, 20].min() > 0.9
    others = np.delete(probs[:, :, 20], 2, axis=1)
    assert np.all(others > 1e-4)  # the others may copy sample 2's haplotypes
    needed = rng.random((5, 40)) < 0.3               # only where asked: the rest NaN
    some = impute_leave_out(panel, haplotypes, owners, *arguments, needed)
    np.testing.assert_array_equal(some[:, needed], probs[:, needed])
    assert np.isnan(some[:, ~needed]).all()


def test_composite_panel_keeps_a_continuing_donor_in_its_column():
    from emapps.kernels.copying.composite import composite_panel
    rng = np.random.default_rng(10)
    panel = (rng.random((192, 30)) < 0.5).astype(np.uint8)   # columns differ per window
    bounds = np.array([0, 64, 128, 192])
    lists = [[3, 7, 11, 20], [7, 20, 4], [4, 7, 25, 26]]
    offsets = np.cumsum([0] + [len(donors) for donors in lists])
    out = np.empty((192, 5), dtype=np.uint8)
    donors = np.empty((3, 5), dtype=np.int64)
    composite_panel(panel.T.copy(), bounds, offsets, np.concatenate(lists), out, donors)
    for w in range(3):  # donors[w, s] is what column s copies in window w
        rows = slice(bounds[w], bounds[w + 1])
        np.testing.assert_array_equal(out[rows], panel[rows][:, donors[w]])
        assert set(lists[w]) <= set(donors[w])
    columns = []
    for w, donors in enumerate(lists):
        rows = slice(bounds[w], bounds[w + 1])
        found = {}
        for d in donors:  # every candidate is copied by some column
            matches = np.flatnonzero((out[rows] == panel[rows, [d]]).all(axis=0))
            assert len(matches) >= 1
            found[d] = set(matches)
        columns.append(found)
    for w in range(2):  # a donor listed in consecutive windows stays in its column
        for d in set(lists[w]) & set(lists[w + 1]):
            assert columns[w][d] & columns[w + 1][d]


def test_refine_phase_fills_unobserved_markers_with_the_likelier_copied_allele(small):
    panel, _, switch, mismatch = small
    alleles = np.stack([panel[:, 1], panel[:, 4]]).astype(np.int8)
    alleles[:, [2, 6, 9]] = -1                                # unobserved on both
    heterozygous = np.zeros(12, dtype=bool)                   # no moves to make
    fills = np.full((2, 12), -7, dtype=np.int8)
    assert refine_phase(panel, alleles.copy(), heterozygous, switch, mismatch, 1, 5,
                        fills, *scratch(panel)) == 0
    for copy in range(2):
        posterior = dense_forward_backward(panel, alleles[copy], switch, mismatch)[0]
        ones = (posterior * panel).sum(axis=1)
        np.testing.assert_array_equal(fills[copy, [2, 6, 9]], (ones > 0.5)[[2, 6, 9]])


def longest_free_run_overlapping(free, lo, hi):
    """Numpy twin of _match_runs: the longest run of True in ``free`` that overlaps
    [lo, hi)."""
    best, start = 0, None
    for m, ok in enumerate(list(free) + [False]):
        if ok and start is None:
            start = m
        if not ok and start is not None:
            if start < hi and m > lo:
                best = max(best, m - start)
            start = None
    return best


def test_candidates_by_match_run_rank_the_longest_conflict_free_runs():
    from emapps.kernels.copying.matching import nearest_haplotypes, pack_bits
    rng = np.random.default_rng(12)
    query = rng.random(150) < 0.5
    panel = np.tile(query, (20, 1))
    for h in range(20):  # haplotype h differs from the query at a few random markers
        panel[h, rng.choice(150, size=h % 6 + 1, replace=False)] ^= True
    ones, zeros = pack_bits(query[None], 32), pack_bits(~query[None], 32)
    offsets, candidates = nearest_haplotypes(pack_bits(panel, 32), pack_bits(~panel, 32),
                                             ones[:, None], zeros[:, None],
                                             np.array([[-1, -1]]), 4, 0, True, 32, 150)
    for w in range(5):
        runs = np.array([longest_free_run_overlapping(panel[h] == query, 32 * w,
                                                      min(32 * w + 32, 150))
                         for h in range(20)])
        chosen = candidates[offsets[0, w]:offsets[0, w + 1]]
        assert len(chosen) == 4
        assert sorted(runs[chosen]) == sorted(runs)[-4:]


def test_composite_panels_holding_the_whole_panel_reproduce_its_statistics_and_imputation():
    from emapps.impute.panel_blocks import build_blocks
    from emapps.kernels.copying.blocks import blocks_impute
    from emapps.kernels.copying.composite import reduced_statistics
    rng = np.random.default_rng(13)
    panel = (rng.random((30, 9)) < 0.4).astype(np.uint8)   # typed markers
    sites = (rng.random((45, 9)) < 0.3).astype(np.uint8)   # every site
    haplotypes = panel[:, [[1, 4, 6], [2, 4, 8]]].transpose(1, 2, 0).astype(np.int8)
    haplotypes[:, :, ::7] = -1
    haplotypes[0, 1, 3] ^= 1
    switch, mismatch = rng.uniform(0.01, 0.2, size=29), 0.01
    bounds = np.array([0, 10, 20, 30])
    lists = [rng.permutation(9) for _ in range(3 * 3)]        # all 9, in any order
    offsets = np.arange(0, 9 * 10, 9)[:9].reshape(3, 3)
    offsets = np.column_stack([offsets, offsets[:, -1] + 9])
    candidates = np.concatenate(lists)
    whole = haploid_statistics(panel, haplotypes.reshape(-1, 30), switch, mismatch)
    reduced = reduced_statistics(panel.T.copy(), haplotypes, bounds, offsets, candidates, 9, switch,
                                 mismatch)
    for a, b in zip(whole, reduced):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    left = np.sort(rng.integers(0, 30, size=45))
    weight = np.where(left < 29, rng.random(45), 0.0)
    carriers = carriers_of(sites)
    expected = impute_haplotypes(panel, haplotypes.reshape(-1, 30), switch, mismatch,
                                 *carriers, left, weight)
    got = blocks_impute(panel.T.copy(), build_blocks(sites).site_lists(), haplotypes,
                        bounds, offsets, candidates, 9, switch, mismatch, left, weight)
    np.testing.assert_allclose(got.reshape(6, -1), expected, atol=1e-6)  # expected: float32


def test_reduced_imputation_with_repeated_donors_matches_a_dense_twin():
    """Lists shorter than the composite repeat donors in several columns; each column's
    posterior mass counts once, as a dense pass over the composite panel gives it."""
    from emapps.impute.panel_blocks import build_blocks
    from emapps.kernels.copying.blocks import blocks_impute
    from emapps.kernels.copying.composite import composite_panel
    rng = np.random.default_rng(14)
    panel = (rng.random((30, 9)) < 0.4).astype(np.uint8)
    sites = (rng.random((60, 9)) < 0.3).astype(np.uint8)
    haplotypes = panel[:, [[0], [5]]].transpose(1, 2, 0).astype(np.int8)
    switch, mismatch = rng.uniform(0.01, 0.2, size=29), 0.01
    bounds = np.array([0, 10, 20, 30])
    lists = [[1, 2, 3], [2, 3, 6, 7, 8], [0, 1, 2, 4]]
    offsets = np.cumsum([0] + [len(donors) for donors in lists])[None]
    left = np.sort(rng.integers(0, 30, size=60))
    weight = np.where(left < 29, rng.random(60), 0.0)
    got = blocks_impute(panel.T.copy(), build_blocks(sites).site_lists(), haplotypes,
                        bounds, offsets, np.concatenate(lists), 6, switch, mismatch, left,
                        weight)
    composite, donors = np.empty((30, 6), dtype=np.uint8), np.empty((3, 6), dtype=np.int64)
    composite_panel(panel.T.copy(), bounds, offsets[0], np.concatenate(lists), composite,
                    donors)
    assert len(set(donors[0])) < 6                         # a donor in several columns
    window = np.searchsorted(bounds, np.arange(30), side="right") - 1
    for copy in range(2):
        posterior = dense_forward_backward(composite, haplotypes[copy, 0], switch,
                                           mismatch)[0]
        alt = np.array([[sites[s, donors[window[m]]] for m in range(30)]
                        for s in range(60)])                 # (S, M, L)
        def alt_mass(markers):
            return (posterior[markers] * alt[np.arange(60), markers]).sum(axis=1)

        expected = (1 - weight) * alt_mass(left) + weight * alt_mass(np.minimum(left + 1, 29))
        np.testing.assert_allclose(got[copy, 0], expected, atol=1e-6)   # single precision
