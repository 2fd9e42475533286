"""Cohort imputation and phasing without a reference panel by the copying model: the
cohort's own haplotypes serve as the panel, as in Beagle (see :class:`CohortCopier`)."""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import Estimator, take_renamed_keywords
from ..core.validation import check_positive_int
from ..errors import UserInputError
from ..kernels.copying.composite import refine_cohort
from ..kernels.copying.diploid import phase_samples
from ..kernels.copying.haploid import impute_leave_out
from .io import Calls, check_one_chromosome, genetic_positions
from .candidates import carriers_of, interpolation, window_candidates
from .copying_em import INITIAL_MISMATCH
from .imputed import Imputed, ImputedSites, genotype_probs, variance_ratio

#: 4 Ne of the copying model in a cohort (Beagle's default Ne, 100,000)
COHORT_THETA = 4e5
#: markers per window of candidates in a cohort (dense markers: one 64-bit word)
COHORT_WINDOW = 64
#: candidates are ranked over the window and this many windows each side
COHORT_SPAN = 4
#: markers phased in stage 1 (the rest are phased by imputation from them)
COMMON_MAF = 0.01
#: theta is chosen by predicting HOLDOUT_RATE of the calls of FIT_SAMPLES samples, among
#: these multiples of COHORT_THETA, then the geometric midpoints beside the best (a 5%
#: hold-out picked the theta of the fewest errors where 2% was swayed by a few calls)
THETA_STEPS = 2.0 ** np.arange(1, 5)
FIT_SAMPLES, HOLDOUT_RATE = 32, 0.05
#: ALT probabilities of a rare heterozygote's two haplotypes this close, relative to
#: the larger, are a tie (the imputation pass runs in single precision)
TIE = 1e-5


def held_out_theta(panel, haplotypes, genotypes, owners, morgans, n_copied, thetas,
                   mismatch, rng) -> tuple:
    """theta by held-out prediction: hide HOLDOUT_RATE of the calls (N, M) of up to
    FIT_SAMPLES samples, impute their phased haplotypes (2, N, M) from ``panel`` (M, H)
    less each sample's ``owners`` columns at each of ``thetas`` (ascending), then at the
    geometric midpoints between the best and its neighbours, and keep the theta whose
    genotype probabilities give the hidden calls the highest likelihood.
    Returns (theta, {theta: held-out log-likelihood})."""
    n_samples, n_markers = genotypes.shape
    chosen = np.sort(rng.choice(n_samples, min(n_samples, FIT_SAMPLES), replace=False))
    hidden = (genotypes[chosen] >= 0) & (rng.random((len(chosen), n_markers))
                                         < HOLDOUT_RATE)
    queries = np.where((genotypes[chosen] < 0) | hidden, -1, haplotypes[:, chosen])
    queries = np.ascontiguousarray(queries, dtype=np.int8)
    scored = np.flatnonzero(hidden.any(axis=0))   # only markers with a hidden call
    carriers = carriers_of(panel[scored])
    at_markers = (scored, np.zeros(scored.size))
    truth = genotypes[chosen][hidden]

    def held_out_log_likelihood(theta):
        switch = -np.expm1(-theta * morgans / n_copied)
        first, second = impute_leave_out(panel, queries, owners[chosen], switch, mismatch,
                                         *carriers, *at_markers, hidden[:, scored])
        p, q = first[hidden[:, scored]], second[hidden[:, scored]]
        likelihood = np.choose(truth, [(1 - p) * (1 - q), p * (1 - q) + (1 - p) * q, p * q])
        return float(np.log(np.maximum(likelihood, 1e-12)).sum())

    scores = {float(theta): held_out_log_likelihood(theta) for theta in thetas}
    best = int(np.argmax(list(scores.values())))
    for neighbour in (best - 1, best + 1):
        if 0 <= neighbour < len(thetas):
            middle = float(np.sqrt(thetas[best] * thetas[neighbour]))
            scores[middle] = held_out_log_likelihood(middle)
    return max(scores, key=scores.get), scores


@dataclass
class AveragedImputed(Imputed):
    """Cohort results averaged over several phasings: the first phasing's haplotypes
    and ALT probabilities (``haplotype_probs``), and the mean of every phasing's
    genotype probabilities (``averaged``, (3, N, S)) for GP, DS, GT and DR2."""

    averaged: np.ndarray | None = None

    def cell_codes(self) -> tuple:
        return ImputedSites.cell_codes(self)

    @property
    def dosage(self) -> np.ndarray:
        return self.averaged[1] + 2 * self.averaged[2]

    @property
    def dosage_r2(self) -> np.ndarray:
        """The variance of the estimated entries' dosages over 2p(1 - p), p the site's
        ALT frequency (the dosage form of Imputed's)."""
        return variance_ratio(self.dosage, self.estimated, 2)

    def genotype_probs(self) -> tuple:
        return self.averaged[0], self.averaged[1], self.averaged[2]

    def genotype_codes(self) -> np.ndarray:
        """(N, S) phased GT codes 0-3: the most probable genotype, a heterozygote's ALT on
        the first phasing's likelier haplotype."""
        first, second = self.haplotype_probs
        best = np.argmax(self.averaged, axis=0)
        return np.where(best == 1, np.where(first >= second, 2, 1), np.where(best == 2, 3, 0))


class CohortCopier(Estimator):
    """Fill missing calls and phase a cohort with the copying model, the cohort's own
    haplotypes serving as the panel (as Beagle does without a reference), in two stages
    as Beagle 5.2 does: common markers (cohort MAF >= 1%) by iterated phasing, then the
    rest by imputation from those.

    Stage 1 starts from a random phase with missing calls set to the commoner allele.
    Each of ``rounds`` rounds phases every sample by the windowed diploid Viterbi path
    over the other samples' current haplotypes: per window of 64 markers, the
    ``per_window`` haplotypes with the fewest conflicts over the window and the 4 windows
    each side (with the genotypes in the first round, then with each of the sample's two
    haplotypes); missing calls take the copied alleles.  Each of ``refine_rounds`` rounds
    then builds every sample a composite panel of ``refine_states`` haplotypes from the
    same ranking, improves its phase there by switch and flip moves under the haploid
    model, and resets its missing alleles to the likelier copied allele.
    Stage 2 runs a haploid forward-backward of every haplotype over every other sample's
    haplotypes at the common markers (leave-one-out), interpolated to the rare sites,
    where an unphased heterozygote's ALT counts half on each of its haplotypes; each rare
    heterozygote puts its ALT on the haplotype that copies it more.  ``predict`` repeats
    that pass with the phased rare alleles for the missing calls' probabilities.
    Stage 1 runs ``phasings`` times (default 3) from independent random phases, and the
    missing calls get the mean of the phasings' genotype probabilities (the extra
    phasings impute with their rare heterozygotes unphased, as stage 2's first pass
    does).
    ``genetic_map`` sets the switch rates (rho_m = 1 - exp(-theta x_m), x_m the genetic
    distance over the 2N - 2 haplotypes copied from);
    fitted attributes: ``haplotypes_`` (2, N, S) with -1 at missing calls, ``common_``.
    """

    _fitted_attribute = "haplotypes_"

    def __init__(self, *, per_window=16, rounds=6, refine_rounds=3, refine_states=128,
                 phasings=3, theta=COHORT_THETA, random_state=None, genetic_map=None,
                 **renamed):
        self.phasings = phasings
        self.theta = theta
        self.per_window = per_window
        self.rounds = rounds
        self.refine_rounds = refine_rounds
        self.refine_states = refine_states
        self.random_state = random_state
        self.genetic_map = genetic_map
        take_renamed_keywords(self, renamed)

    def fit(self, calls: Calls, progress=None) -> "CohortCopier":
        """Phase and fill ``calls``; ``progress()``, when given, is called after each
        phasing round."""
        check_positive_int(self.per_window, "per_window")
        check_positive_int(self.rounds, "rounds")
        check_positive_int(self.refine_states, "refine_states")
        check_positive_int(self.refine_rounds, "refine_rounds", minimum=0)
        check_positive_int(self.phasings, "phasings")
        check_one_chromosome(calls)
        n_samples = len(calls.samples)
        if n_samples < 3:
            raise UserInputError(f"{calls.source}: a cohort needs at least 3 samples")
        genotypes = calls.genotypes()
        sequence = self._seed_sequence()
        self.seed_ = sequence.entropy
        rng = np.random.default_rng(sequence)
        called = (genotypes >= 0).sum(axis=0)
        frequency = np.where(genotypes >= 0, genotypes, 0).sum(axis=0) / np.maximum(
            2 * called, 1)
        common = np.minimum(frequency, 1 - frequency) >= COMMON_MAF
        if common.sum() < 2:
            common[:] = True
        centimorgans = genetic_positions(calls.chrom, calls.pos, self.genetic_map)
        n_haps = 2 * n_samples - 2
        morgans = np.diff(centimorgans[common]) / 100.0
        stage_switch = -np.expm1(-self.theta * morgans / n_haps)
        owners = np.column_stack([np.arange(n_samples), n_samples + np.arange(n_samples)])

        def stage_one():
            return self._phase_common(genotypes[:, common], frequency[common] > 0.5,
                                      stage_switch, owners, rng, progress)
        scaffold = stage_one()
        panel = np.ascontiguousarray(scaffold.reshape(2 * n_samples, -1).T, dtype=np.uint8)
        self.theta_, self.theta_scores_ = held_out_theta(
            panel, scaffold, genotypes[:, common], owners, morgans, n_haps,
            self.theta * THETA_STEPS, INITIAL_MISMATCH, rng)
        switch = -np.expm1(-self.theta_ * morgans / n_haps)
        self._calls, self._switch, self._owners = calls, switch, owners
        self._genotypes, self.common_ = genotypes, common
        self._missing = missing = genotypes < 0
        self._interpolation = interpolation(centimorgans[common], centimorgans)
        halves = (genotypes == 1) & ~common
        haplotypes = self._with_rare_halves(scaffold, halves)
        probs = self._leave_out(haplotypes, halves)
        first = probs[0] > probs[1]
        tied = halves & (np.abs(probs[0] - probs[1]) <= TIE * np.maximum(probs[0], probs[1]))
        first[tied] = rng.random(int(tied.sum())) < 0.5
        haplotypes[0][halves], haplotypes[1][halves] = first[halves], ~first[halves]
        self._filled = haplotypes   # missing calls: stage 1's alleles, or REF when rare
        self.haplotypes_ = np.where(missing[None], -1, haplotypes).astype(np.int8)
        self._other_phasings = [   # kept at the missing calls only
            self._leave_out(self._with_rare_halves(stage_one(), halves), halves)[:, missing]
            for _ in range(self.phasings - 1)]
        return self

    def _with_rare_halves(self, scaffold, halves) -> np.ndarray:
        """(2, N, S) alleles: the phased common markers of ``scaffold``, ALT on both
        haplotypes of a rare heterozygote (``halves``), REF at rare missing calls."""
        genotypes = self._genotypes
        haplotypes = np.where(genotypes == 2, 1, 0).astype(np.int8)[None].repeat(2, axis=0)
        haplotypes[:, :, self.common_] = scaffold
        haplotypes[:, halves] = 1
        return haplotypes

    def _phase_common(self, genotypes, commoner, switch, owners, rng, progress=None
                      ) -> np.ndarray:
        """Stage 1: (2, N, M) phased alleles at the common markers, missing calls filled."""
        n_samples = genotypes.shape[0]
        first = np.where(genotypes == 2, 1, 0)
        second = first.copy()
        heterozygous = genotypes == 1
        flip = rng.random(genotypes.shape) < 0.5
        first[heterozygous], second[heterozygous] = flip[heterozygous], ~flip[heterozygous]
        missing = genotypes < 0
        first[missing] = second[missing] = np.broadcast_to(commoner, genotypes.shape)[missing]
        haplotypes = np.stack([first, second]).astype(np.int8)
        for round_ in range(self.rounds + self.refine_rounds):
            panel = np.ascontiguousarray(haplotypes.reshape(2 * n_samples, -1).T,
                                         dtype=np.uint8)
            viterbi = round_ < self.rounds
            keep = self.per_window if viterbi else max(self.refine_states // 2, 1)
            bounds, offsets, candidates = window_candidates(
                panel, genotypes, keep,
                None if round_ == 0 else np.where(missing[None], -1, haplotypes), owners,
                window=COHORT_WINDOW, span=COHORT_SPAN)
            if viterbi:
                haplotypes = phase_samples(panel, genotypes, bounds, offsets, candidates,
                                           switch, INITIAL_MISMATCH, np.float32)
            else:
                haplotypes = refine_cohort(np.ascontiguousarray(panel.T), haplotypes, genotypes, bounds, offsets,
                                           candidates, switch, INITIAL_MISMATCH, 1,
                                           self.refine_states, np.float32)
            if progress:
                progress()
        return haplotypes

    def _leave_out(self, haplotypes, halves=None) -> np.ndarray:
        """(2, N, S) ALT probabilities at the missing calls and ``halves`` (NaN elsewhere)
        of every haplotype copying the other samples' haplotypes (2, N, S) at the common
        markers (its own missing calls unobserved); ``halves`` (N, S) marks heterozygotes
        of unknown phase."""
        needed = self._missing if halves is None else self._missing | halves
        n_samples = haplotypes.shape[1]
        sites = np.ascontiguousarray(haplotypes.reshape(2 * n_samples, -1).T)
        scaffold = np.ascontiguousarray(sites[self.common_], dtype=np.uint8)
        observed = np.where(self._missing[None], -1, haplotypes)[:, :, self.common_]
        if halves is not None:
            halves = np.concatenate([halves, halves]).T
        return impute_leave_out(scaffold, np.ascontiguousarray(observed, dtype=np.int8),
                                self._owners, self._switch, INITIAL_MISMATCH,
                                *carriers_of(sites.astype(np.uint8), halves),
                                *self._interpolation, needed)

    def predict(self) -> Imputed:
        calls, haplotypes, missing = self._calls, self.haplotypes_, self._missing
        probs = self._leave_out(self._filled)
        known = haplotypes >= 0
        probs[known] = haplotypes[known]
        record = {"mode": "cohort-copying", "phasings": self.phasings, "theta": self.theta_,
                  "held_out_log_likelihood": self.theta_scores_, "rounds": self.rounds,
                  "refine_rounds": self.refine_rounds, "refine_states": self.refine_states,
                  "per_window": self.per_window, "sites": int(calls.n_sites),
                  "common_sites": int(self.common_.sum()),
                  "missing_calls": int(missing.sum()),
                  "skipped_records": calls.skipped}
        sites = (calls.chrom, calls.pos, calls.ids, calls.ref, calls.alt, calls.samples,
                 (probs[0], probs[1]), np.zeros(calls.n_sites, dtype=bool), record, missing)
        if not self._other_phasings:
            return Imputed(*sites, source_records=calls.records)
        averaged = np.stack(genotype_probs(*probs))
        filled = averaged[:, missing]
        for other in self._other_phasings:
            filled += np.stack(genotype_probs(*other))
        averaged[:, missing] = filled / self.phasings
        return AveragedImputed(*sites, source_records=calls.records, averaged=averaged)
