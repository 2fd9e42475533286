"""Reference-panel imputation with the Li & Stephens copying model fitted by EM.

Each target haplotype copies the panel's H haplotypes, switching between typed markers
m and m + 1 with probability rho_m = 1 - exp(-theta x_m), x_m the genetic distance (M)
over H, and misreading a copied allele with probability eps.  theta (4 Ne) and eps are
fitted by Baum-Welch through the core driver, as MaCH and minimac do: the E-step gives
the expected switches J_m per interval and the expected mismatches; the M-step sets
eps = mismatches / observed alleles and solves sum_m x_m [J_m / (e^(theta x_m) - 1)
- (N - J_m)] = 0 for theta.  Unphased targets are phased first, by the Viterbi path of
the diploid copying model over a short list of panel haplotypes that match them
(state-space reduction), and again once theta and eps are fitted.  Untyped sites take
each haplotype's posterior over the panel, interpolated in genetic distance between
the flanking typed markers.  A large panel is reduced, as in Beagle, to composite
haplotypes per sample: in each window of typed markers, the panel haplotypes with the
longest matches to the sample's phased haplotypes (PHASE_STATES for phasing and
fitting, IMPUTE_STATES for imputing).
"""

import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.special import xlogy

from ..core.estimator import Estimator, take_renamed_keywords
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.copying.composite import reduced_impute, reduced_statistics, refine_cohort
from ..kernels.copying.diploid import phase_samples
from ..kernels.copying.haploid import haploid_statistics, impute_haplotypes
from ..kernels.copying.matching import nearest_haplotypes, pack_bits
from .io import Calls, check_one_chromosome, check_panel, genetic_positions, match_sites

#: typed markers per window of phasing candidates (one bit-packed word, <= 64)
WINDOW = 32
#: theta = 4 Ne starts at Ne = 10,000 (the Li & Stephens / minimac scale)
INITIAL_THETA = 4e4
#: weight, in haplotypes, of the prior that holds each interval's switch rate near the
#: rate of the single theta fitted before it (Beta(a c, a (1 - c)), c that rate)
LOCAL_PRIOR_WEIGHT = 32.0
INITIAL_MISMATCH = 1e-3
#: phase moves run over composite panels of at most PHASE_STATES columns (from the panel
#: and the other targets); panels above PHASE_STATES / IMPUTE_STATES haplotypes are
#: reduced to composites of that width for fitting / imputing too
PHASE_STATES, IMPUTE_STATES = 480, 1600


class Composites(NamedTuple):
    """Each sample's composite panel: donors per window (see composite_panel)."""
    bounds: np.ndarray      # (W + 1,) window bounds over the typed markers
    offsets: np.ndarray     # (N, W + 1) into candidates
    candidates: np.ndarray
    width: int              # composite haplotypes per sample


@dataclass
class CopyingParams:
    theta: float      # 4 Ne: switch rate per Morgan, times H
    mismatch: float   # eps
    rates: np.ndarray | None = None   # (M - 1) switch rate per interval, when fitted


class CopyingEM:
    """Baum-Welch for (theta, eps) of the haploid copying model over the phased target
    haplotypes (2, N, M) at the typed markers: over the whole panel, or with
    ``composites`` (:class:`Composites`) over each sample's composite panel.  With
    ``prior`` (rates (M - 1), weight a) each interval also gets its own switch rate, as
    MaCH fits them: MAP-EM, rho_m = (J_m + a c_m) / (2N + a) under Beta(a c_m,
    a (1 - c_m)) priors centred on the rates c_m of an earlier single-theta fit."""

    def __init__(self, panel_typed, distances, composites=None):
        self.panel = panel_typed           # (M, H) uint8
        self.scaled = distances / panel_typed.shape[1]   # x_m (Morgans / H)
        self.composites = composites
        self.prior = None

    def switch(self, params: CopyingParams) -> np.ndarray:
        if params.rates is not None:
            return params.rates
        return -np.expm1(-params.theta * self.scaled)

    def initial_params(self, data, rng) -> CopyingParams:
        return CopyingParams(INITIAL_THETA, INITIAL_MISMATCH)

    def e_step(self, params: CopyingParams, haplotypes) -> dict:
        switch = self.switch(params)
        if self.composites is None:
            flat = haplotypes.reshape(-1, haplotypes.shape[2])
            statistics = haploid_statistics(self.panel, flat, switch, params.mismatch)
        else:
            statistics = reduced_statistics(self.panel, haplotypes, *self.composites, switch,
                                            params.mismatch)
        jumps, mismatches, observed, loglik = statistics
        return {"jumps": jumps, "mismatches": mismatches, "observed": observed,
                "loglik": loglik, "weight": float(2 * haplotypes.shape[1])}

    def m_step(self, params: CopyingParams, stats: dict) -> CopyingParams:
        mismatch = float(np.clip(stats["mismatches"] / max(stats["observed"], 1.0),
                                 1e-6, 0.25))
        theta = self._theta(stats["jumps"], stats["weight"], params.theta)
        rates = None
        if self.prior is not None:
            centre, weight = self.prior
            jumps = np.minimum(stats["jumps"], stats["weight"])
            rates = (jumps + weight * centre) / (stats["weight"] + weight)
        return CopyingParams(theta, mismatch, rates)

    def log_prior(self, params: CopyingParams) -> float:
        """sum_m [a c_m log rho_m + a (1 - c_m) log(1 - rho_m)] over the intervals' switch
        rates (0 without ``prior``)."""
        if self.prior is None:
            return 0.0
        centre, weight = self.prior
        rates = self.switch(params)
        return float(np.sum(xlogy(weight * centre, rates)
                            + xlogy(weight * (1 - centre), 1 - rates)))

    def _theta(self, jumps, n_haps, previous) -> float:
        x = self.scaled
        useful = x > 0
        x, jumps = x[useful], np.minimum(jumps[useful], n_haps)
        if x.size == 0 or jumps.sum() <= 0:
            return previous

        def slope(log_theta):
            theta = np.exp(log_theta)
            return float(np.sum(x * (jumps / np.expm1(np.minimum(theta * x, 700.0))
                                     - (n_haps - jumps)))) * theta
        low, high = np.log(1e-3), np.log(1e12)
        if slope(high) >= 0:
            return float(np.exp(high))
        for _ in range(100):  # the slope falls as theta grows: bisect on log theta
            middle = 0.5 * (low + high)
            if slope(middle) > 0:
                low = middle
            else:
                high = middle
            if high - low < 1e-12:
                break
        return float(np.exp(0.5 * (low + high)))


@dataclass
class ImputedSites:
    """The sites and samples of an imputation result; subclasses give ``dosage``."""

    chrom: np.ndarray
    pos: np.ndarray
    ids: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    samples: list

    @property
    def n_sites(self) -> int:
        return self.pos.shape[0]

    @property
    def alt_frequency(self) -> np.ndarray:
        return 0.5 * self.dosage.mean(axis=0)


@dataclass
class Imputed(ImputedSites):
    """Every panel site of the region for every target sample, from two phased
    haplotypes' ALT probabilities."""

    haplotype_probs: tuple      # (first, second): (N, S) P(ALT) on each phased haplotype
    imputed: np.ndarray         # (S,) bool: not typed in the target
    record: dict = field(default_factory=dict)
    estimated: np.ndarray | None = None   # (N, S) bool: entries filled in (cohort mode)

    @property
    def dosage(self) -> np.ndarray:
        """(N, S) expected ALT count."""
        return self.haplotype_probs[0] + self.haplotype_probs[1]

    def genotype_codes(self) -> np.ndarray:
        """(N, S) phased GT codes 0-3 (0|0, 0|1, 1|0, 1|1): each haplotype's likelier
        allele."""
        first, second = self.haplotype_probs
        return 2 * (first > 0.5) + (second > 0.5)

    def genotype_probs(self) -> tuple:
        """(P(0), P(1), P(2)), each (N, S), from the two haplotypes' ALT probabilities."""
        return genotype_probs(*self.haplotype_probs)

    @property
    def dosage_r2(self) -> np.ndarray:
        """Beagle's DR2: the variance of the haplotypes' ALT probabilities over p(1 - p),
        p their mean (0 at sites without variation).  With ``estimated`` entries (cohort
        mode) only their probabilities enter the variance, p is the site's frequency
        over every haplotype, and a site with none estimated gets 1."""
        chosen = (None if self.estimated is None
                  else np.concatenate([self.estimated, self.estimated]))
        return variance_ratio(np.concatenate(self.haplotype_probs), chosen, 1)


def genotype_probs(first, second) -> tuple:
    """(P(0), P(1), P(2)) of a genotype whose two haplotypes carry ALT independently with
    probabilities ``first`` and ``second``."""
    return ((1 - first) * (1 - second), first * (1 - second) + (1 - first) * second,
            first * second)


def variance_ratio(values, chosen, copies) -> np.ndarray:
    """Per site (columns of ``values``, rows of ALT counts out of ``copies``), the
    variance of the values (of the ``chosen`` ones only, when given; 1 where none is)
    over copies p (1 - p), p = mean / copies over every row (0 without variation)."""
    mean = values.mean(axis=0)
    frequency = mean / copies
    spread = copies * frequency * (1 - frequency)
    if chosen is None:
        variance = (values ** 2).mean(axis=0) - mean ** 2
    else:
        count = chosen.sum(axis=0)
        inside = np.where(chosen, values, 0.0)
        centre = inside.sum(axis=0) / np.maximum(count, 1)
        variance = (inside ** 2).sum(axis=0) / np.maximum(count, 1) - centre ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(spread > 1e-12, np.clip(variance / spread, 0, 1), 0.0)
    if chosen is not None:
        r2 = np.where(chosen.any(axis=0), r2, 1.0)
    return r2


class ReferenceImputer(Estimator):
    """Impute and phase target genotypes from a phased reference panel.

    ``fit(target, panel)`` phases the targets and fits (theta, eps) by EM;
    ``predict()`` returns :class:`Imputed` over every panel site.  Fitted attributes:
    ``params_``, ``loglik_``, ``trace_``, ``n_iter_``, ``converged_``, ``haplotypes_``
    (phased typed alleles, (2, N, M)), ``match_`` (the site match).  Each of ``rounds``
    rounds phases, then runs EM: ``max_iter`` iterations in the first, one fewer after;
    after the first, each interval gets its own switch rate (see :class:`CopyingEM`).
    Nothing in this mode is random: ``random_state`` is accepted, as by every emapps
    estimator, but the result does not depend on it, and run records give no seed.
    """

    _fitted_attribute = "params_"

    def __init__(self, *, per_window=16, rounds=2, sweeps=4, max_iter=3, tol=1e-4,
                 phase_states=PHASE_STATES, impute_states=IMPUTE_STATES, random_state=None,
                 genetic_map=None, **renamed):
        self.sweeps = sweeps
        self.phase_states = phase_states
        self.impute_states = impute_states
        self.per_window = per_window
        self.rounds = rounds
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.genetic_map = genetic_map
        take_renamed_keywords(self, renamed)

    def fit(self, target: Calls, panel: Calls) -> "ReferenceImputer":
        check_positive_int(self.per_window, "per_window")
        check_positive_int(self.rounds, "rounds")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.phase_states, "phase_states", minimum=2)
        check_positive_int(self.impute_states, "impute_states", minimum=2)
        check_panel(panel)
        check_one_chromosome(panel)
        timings = {}
        started = time.perf_counter()
        match = match_sites(target, panel)
        genotypes = target.genotypes()[:, match.target_index]      # (N, M)
        hap_panel = np.concatenate([panel.alleles[0], panel.alleles[1]]).T  # (S, H)
        hap_panel = np.ascontiguousarray(hap_panel, dtype=np.uint8)
        typed_panel = np.ascontiguousarray(hap_panel[match.typed])
        centimorgans = genetic_positions(panel.chrom, panel.pos, self.genetic_map)
        typed_cm = centimorgans[match.typed]
        if np.any(np.diff(typed_cm) < 0):
            raise UserInputError(f"{target.source}: typed sites out of genetic-map order")
        model = CopyingEM(typed_panel, np.diff(typed_cm) / 100.0)
        timings["prepare"] = time.perf_counter() - started

        params = model.initial_params(None, None)   # fixed starting rates: no randomness
        trace = []
        haplotypes = None
        for round_ in range(1, self.rounds + 1):
            last = round_ == self.rounds
            started = time.perf_counter()
            haplotypes = self._phase(typed_panel, genotypes, model.switch(params),
                                     params.mismatch, haplotypes, refine=last)
            model.composites = self._composites(typed_panel, genotypes, haplotypes,
                                                self.phase_states)
            timings[f"phase_{round_}"] = time.perf_counter() - started
            started = time.perf_counter()
            # a later round starts from the estimates of the one before: one iteration
            # fewer (measured on the array experiment: the same accuracy, 0.2 s less)
            iterations = self.max_iter if round_ == 1 else max(self.max_iter - 1, 1)
            if round_ > 1:   # each interval's own rate, near the single theta's
                model.prior = (model.switch(params), LOCAL_PRIOR_WEIGHT)
            result = fit_em(model, haplotypes, init_params=params, max_iter=iterations,
                            tol=self.tol, tol_on="mean", warn=False)
            timings[f"em_{round_}"] = time.perf_counter() - started
            params = result.params
            trace += list(result.trace)
        self.params_, self.loglik_, self.trace_ = params, result.loglik, trace
        self.n_iter_, self.converged_ = result.n_iter, result.converged
        self.stop_reason_ = result.stop_reason
        self.haplotypes_ = haplotypes
        self.match_ = match
        self._panel, self._target = panel, target
        self._hap_panel, self._typed_panel, self._model = hap_panel, typed_panel, model
        self._centimorgans, self._genotypes = centimorgans, genotypes
        self.timings_ = timings
        return self

    def _phase(self, typed_panel, genotypes, switch, mismatch, previous=None,
               refine=True) -> np.ndarray:
        """(2, N, M) phased alleles of every target at the typed markers (-1 where the
        genotype is missing): the diploid Viterbi path over candidate haplotypes per
        window, then (``refine``) switch and flip moves while they raise the likelihood."""
        bounds, offsets, candidates = window_candidates(typed_panel, genotypes,
                                                        self.per_window, previous)
        haplotypes = phase_samples(typed_panel, genotypes, bounds, offsets, candidates,
                                   switch, mismatch)
        haplotypes[:, genotypes < 0] = -1
        if refine and self.sweeps:
            haplotypes = self._refine(typed_panel, genotypes, haplotypes, switch, mismatch)
        return haplotypes

    def _refine(self, typed_panel, genotypes, haplotypes, switch, mismatch) -> np.ndarray:
        """Switch and flip moves under the haploid model, each target copying from the
        panel and the other targets' current haplotypes (as Beagle phases targets with
        each other): over composite panels of at most ``phase_states`` columns drawn from
        both, the target's own two haplotypes left out."""
        n_haps, n_samples = typed_panel.shape[1], genotypes.shape[0]
        targets = np.where(haplotypes < 0, 0, haplotypes).astype(np.uint8)  # missing: REF
        states = np.ascontiguousarray(np.hstack([typed_panel, targets[0].T, targets[1].T]))
        owners = n_haps + np.column_stack([np.arange(n_samples),
                                           n_samples + np.arange(n_samples)])
        width = min(self.phase_states, states.shape[1] - 2)
        bounds, offsets, candidates = window_candidates(states, genotypes, width // 2,
                                                        haplotypes, owners, by_run=True)
        refined = refine_cohort(states, haplotypes, genotypes, bounds, offsets, candidates,
                                switch, mismatch, self.sweeps, width)
        refined[:, genotypes < 0] = -1
        return refined

    @staticmethod
    def _composites(typed_panel, genotypes, haplotypes, width) -> Composites | None:
        """Composite panels of ``width`` haplotypes per sample, half of them those with
        the longest matches to each of its phased haplotypes (2, N, M) per window; None
        when the panel is no larger."""
        if typed_panel.shape[1] <= width:
            return None
        bounds, offsets, candidates = window_candidates(
            typed_panel, genotypes, width // 2, haplotypes, by_run=True)
        return Composites(bounds, offsets, candidates, width)

    def predict(self) -> Imputed:
        """ALT probabilities of both phased haplotypes of every target at every panel
        site: typed and observed alleles as given, the rest imputed."""
        started = time.perf_counter()
        panel, hap_panel = self._panel, self._hap_panel
        typed, n_haps = self.match_.typed, hap_panel.shape[1]
        left, weight = interpolation(self._centimorgans[typed], self._centimorgans)
        haplotypes = self.haplotypes_
        n_samples = haplotypes.shape[1]
        flat = haplotypes.reshape(-1, haplotypes.shape[2])
        missing = flat < 0  # missing typed genotypes are imputed like untyped sites
        switch = self._model.switch(self.params_)
        composites = self._composites(self._typed_panel, self._genotypes, haplotypes,
                                      self.impute_states)
        if composites is None:
            probs = impute_haplotypes(self._typed_panel, flat, switch, self.params_.mismatch,
                                      *carriers_of(hap_panel), left, weight)
        else:
            probs = reduced_impute(self._typed_panel, hap_panel, haplotypes, *composites,
                                   switch, self.params_.mismatch, *carriers_of(hap_panel),
                                   left, weight)
            probs = probs.reshape(flat.shape[0], -1)
        known = ~missing
        rows, columns = np.nonzero(known)
        probs[rows, typed[columns]] = flat[rows, columns]
        probs = probs.reshape(2, n_samples, -1)
        imputed = np.ones(panel.n_sites, dtype=bool)
        imputed[typed] = False
        record = {"theta": self.params_.theta, "mismatch": self.params_.mismatch,
                  "switch_rates": ("per interval" if self.params_.rates is not None
                                   else "one theta"),
                  "log_likelihood": self.loglik_, "trace": self.trace_,
                  "n_iter": self.n_iter_, "converged": self.converged_,
                  "stop_reason": self.stop_reason_, "typed_sites": int(len(typed)),
                  "panel_sites": int(panel.n_sites), "panel_haplotypes": int(n_haps),
                  "phase_states": min(self.phase_states, n_haps),
                  "impute_states": min(self.impute_states, n_haps),
                  "dropped_target_sites": self.match_.dropped,
                  "skipped_target_records": self._target.skipped,
                  "skipped_panel_records": panel.skipped,
                  "timings": {**self.timings_, "impute": time.perf_counter() - started}}
        return Imputed(panel.chrom, panel.pos, panel.ids, panel.ref, panel.alt,
                       self._target.samples, (probs[0], probs[1]), imputed, record)


def carriers_of(hap_panel, halves=None) -> tuple:
    """Per site (rows of ``hap_panel`` (S, H), 0/1) the haplotypes carrying its rarer
    allele in CSR form, and which allele that is: (pointer, carriers, listed).
    ``halves`` (S, H) marks alleles of unknown phase (their entries read 1): a
    heterozygote's ALT counts half on each of its two haplotypes, listed as -(h + 1).

    >>> panel = np.array([[0, 1, 1, 0], [1, 1, 1, 0]], dtype=np.uint8)
    >>> carriers_of(panel)   # site 0 lists its ALT carriers, site 1 its REF carrier
    (array([0, 2, 3]), array([1, 2, 3], dtype=int16), array([1, 0], dtype=int8))
    """
    if halves is None:
        halves = np.zeros(hap_panel.shape, dtype=bool)
    alt_count = hap_panel.sum(axis=1, dtype=np.int64) - 0.5 * halves.sum(axis=1)
    listed = (alt_count <= hap_panel.shape[1] / 2).astype(np.int8)
    carrying = halves | (hap_panel == listed[:, None])
    sites, haplotypes = np.nonzero(carrying)
    haplotypes = np.where(halves[sites, haplotypes], -haplotypes - 1, haplotypes)
    pointer = np.concatenate([[0], np.cumsum(np.bincount(sites, minlength=hap_panel.shape[0]))])
    # the narrowest index type: the carrier lists are streamed once per haplotype
    index = np.int16 if hap_panel.shape[1] < 2 ** 15 else np.int32
    return pointer.astype(np.int64), haplotypes.astype(index), listed


def interpolation(typed_cm, centimorgans) -> tuple:
    """Each site's typed marker on the left (``left``) and its ``weight``, the share of
    the genetic distance to the next typed marker covered (0 beyond the ends).

    >>> interpolation(np.array([0.0, 1.0, 3.0]), np.array([0.5, 1.0, 2.0, 4.0]))
    (array([0, 1, 1, 2]), array([0.5, 0. , 0.5, 0. ]))
    """
    left = np.clip(np.searchsorted(typed_cm, centimorgans, side="right") - 1, 0,
                   len(typed_cm) - 1)
    span = np.diff(typed_cm)
    step = np.where(left < len(typed_cm) - 1, span[np.minimum(left, len(span) - 1)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(step > 0, (centimorgans - typed_cm[left]) / step, 0.0)
    return left, np.clip(weight, 0.0, 1.0)


def window_candidates(panel, genotypes, keep, previous=None, owners=None,
                      window=WINDOW, span=0, by_run=False) -> tuple:
    """Candidate haplotypes for the diploid Viterbi path: per sample and window of
    ``window`` (<= 64) markers, the ``keep`` haplotypes of ``panel`` (M, H) with the
    fewest conflicts with the sample over the window and ``span`` windows each side (the
    window itself counted twice), or with ``by_run`` the longest conflict-free run
    overlapping the window.  Conflicts are opposite homozygotes with its genotypes
    (N, M), or, given a ``previous`` phasing (2, N, M), differing alleles with each of its
    two haplotypes (the union of both).  ``owners`` (N, 2) are haplotypes a sample may not
    copy (its own).  Returns (window bounds, offsets (N, W + 1), candidates)."""
    rows = panel.T
    if previous is None:
        queries = [(genotypes == 2, genotypes == 0)]
    else:
        queries = [(previous[copy] == 1, previous[copy] == 0) for copy in (0, 1)]
    query_ones = np.stack([pack_bits(ones, window) for ones, _ in queries], axis=1)
    query_zeros = np.stack([pack_bits(zeros, window) for _, zeros in queries], axis=1)
    if owners is None:
        owners = np.full((genotypes.shape[0], 2), -1, dtype=np.int64)
    offsets, candidates = nearest_haplotypes(
        pack_bits(rows == 1, window), pack_bits(rows == 0, window), query_ones, query_zeros,
        owners, min(keep, panel.shape[1]), span, by_run, window, panel.shape[0])
    bounds = np.append(np.arange(0, panel.shape[0], window), panel.shape[0])
    return bounds.astype(np.int64), offsets, candidates
