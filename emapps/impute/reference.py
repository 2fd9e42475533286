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

import numpy as np

from ..core.estimator import Estimator, take_renamed_keywords
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.copying.blocks import blocks_impute
from ..kernels.copying.composite import refine_cohort
from ..kernels.copying.diploid import phase_samples
from ..kernels.copying.haploid import impute_haplotypes
from .candidates import SEARCHES, CandidateSearch, carriers_of, interpolation
from .copying_em import LOCAL_PRIOR_WEIGHT, Composites, CopyingEM
from .imputed import Imputed
from .io import Calls, SiteMatch, check_one_chromosome, genetic_positions, match_sites
from .ploidy import ploidy_stretches, stretch_target
from .reference_panel import ReferencePanel, check_distinct_samples, panel_from_calls


#: phase moves run over composite panels of at most PHASE_STATES columns (from the panel
#: and the other targets); panels above PHASE_STATES / IMPUTE_STATES haplotypes are
#: reduced to composites of that width for fitting / imputing too
PHASE_STATES, IMPUTE_STATES = 480, 1600
#: samples imputed together: bounds the composite lists held, (chunk, windows, 1,600)
#: (a sample's lists do not depend on the others in its positional-BWT pass)
IMPUTE_CHUNK = 256


def viterbi_states(n_haplotypes: int) -> int:
    """Haplotypes per window and haplotype of the phasing Viterbi path ('auto'): 16 up to
    10,000 panel haplotypes, then growing as H^0.6 to 64 at 100,000.  A larger panel
    holds more haplotypes that fit a window's genotypes without being the right ones; at
    100,000 simulated haplotypes 64 took rare-variant r2 from 0.982 to 0.989, what the
    true phase gives (16 and 64 alike at 2,000; 64 slightly better at 10,000)."""
    return int(np.clip(round(16 * (n_haplotypes / 1e4) ** 0.6), 16, 64))


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

    def __init__(self, *, per_window="auto", rounds=2, sweeps=4, max_iter=3, tol=1e-4,
                 phase_states=PHASE_STATES, impute_states=IMPUTE_STATES, search="index",
                 random_state=None, genetic_map=None, **renamed):
        self.sweeps = sweeps
        self.phase_states = phase_states
        self.impute_states = impute_states
        self.per_window = per_window
        self.search = search
        self.rounds = rounds
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.genetic_map = genetic_map
        take_renamed_keywords(self, renamed)

    def fit(self, target: Calls, panel: "ReferencePanel | Calls", progress=None,
            sex: dict | None = None) -> "ReferenceImputer":
        """Phase ``target`` against ``panel`` (a :class:`ReferencePanel`, or calls read
        from a phased, complete VCF) and fit the copying rates; ``progress()``,
        when given, is called after each phasing and each EM run.  Haploid calls (in
        the target or the panel, chromosome X) are imputed stretch by stretch of
        constant panel ploidy (see :mod:`~emapps.impute.ploidy`); ``sex`` ({sample:
        'male' | 'female'}) makes males haploid where the panel's are."""
        if self.per_window != "auto":
            check_positive_int(self.per_window, "per_window")
        check_positive_int(self.rounds, "rounds")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.phase_states, "phase_states", minimum=2)
        check_positive_int(self.impute_states, "impute_states", minimum=2)
        if self.search not in SEARCHES:
            raise UserInputError(f"search must be one of {', '.join(SEARCHES)}; got "
                                 f"{self.search!r}")
        if isinstance(panel, Calls):
            panel = panel_from_calls(panel)
        check_one_chromosome(panel)
        check_distinct_samples(target, panel)
        self._stretches = ploidy_stretches(target, panel, sex)
        if self._stretches is not None:
            return self._fit_stretches(target, panel, progress)
        timings = {}
        started = time.perf_counter()
        match = match_sites(target, panel)
        if len(match.typed) < 2:
            raise UserInputError(f"{target.source}: {len(match.typed)} of its sites are in the "
                                 f"panel; imputation needs at least 2 typed sites")
        genotypes = target.genotypes()[:, match.target_index]      # (N, M)
        typed_panel = panel.rows(match.typed)                      # (M, H)
        centimorgans = genetic_positions(panel.chrom, panel.pos, self.genetic_map)
        typed_cm = centimorgans[match.typed]
        if np.any(np.diff(typed_cm) < 0):
            raise UserInputError(f"{target.source}: typed sites out of genetic-map order")
        self._per_window = (viterbi_states(panel.n_haplotypes) if self.per_window == "auto"
                            else self.per_window)
        model = self._model = CopyingEM(typed_panel, np.diff(typed_cm) / 100.0)
        self._candidates = CandidateSearch(typed_panel, self.search)
        timings["prepare"] = time.perf_counter() - started

        params = model.initial_params(None, None)   # fixed starting rates: no randomness
        trace = []
        haplotypes = None
        for round_ in range(1, self.rounds + 1):
            last = round_ == self.rounds
            started = time.perf_counter()
            haplotypes = self._phase(typed_panel, genotypes, model.switch(params),
                                     params.mismatch, haplotypes, refine=last)
            model.composites = self._composites(haplotypes, self.phase_states)
            timings[f"phase_{round_}"] = time.perf_counter() - started
            if progress:
                progress()
            started = time.perf_counter()
            # a later round starts from the estimates of the one before: one iteration
            # fewer (measured on the array experiment: the same accuracy, 0.2 s less)
            iterations = self.max_iter if round_ == 1 else max(self.max_iter - 1, 1)
            if round_ > 1:   # each interval's own rate, near the single theta's
                model.prior = (model.switch(params), LOCAL_PRIOR_WEIGHT)
            result = fit_em(model, haplotypes, init_params=params, max_iter=iterations,
                            tol=self.tol, tol_on="mean", warn=False)
            timings[f"em_{round_}"] = time.perf_counter() - started
            if progress:
                progress()
            params = result.params
            trace += list(result.trace)
        self.params_, self.loglik_, self.trace_ = params, result.loglik, trace
        self.n_iter_, self.converged_ = result.n_iter, result.converged
        self.stop_reason_ = result.stop_reason
        self.haplotypes_ = haplotypes
        self.match_ = match
        self._panel, self._target = panel, target
        self._typed_panel = typed_panel
        self._centimorgans, self._genotypes = centimorgans, genotypes
        self.timings_ = timings
        return self

    def _fit_stretches(self, target, panel, progress) -> "ReferenceImputer":
        """One imputer per stretch of constant ploidy; the fitted attributes combine
        theirs: the log-likelihoods add up, the largest stretch gives ``params_``."""
        self._parts = []
        for stretch in self._stretches:
            part = type(self)(**self.get_params())
            try:
                part.fit(stretch_target(target, stretch),
                         panel.stretch(stretch.sites, stretch.present), progress)
            except UserInputError as error:
                raise UserInputError(f"{panel.chrom[0]}:{panel.pos[stretch.sites.start]}-"
                                     f"{panel.pos[stretch.sites.stop - 1]}: {error}") from None
            self._parts.append(part)
        largest = max(self._parts, key=lambda part: part._panel.n_sites)
        longest = max(len(part.trace_) for part in self._parts)
        self.params_ = largest.params_
        self.loglik_ = float(sum(part.loglik_ for part in self._parts))
        self.trace_ = [float(sum(part.trace_[min(k, len(part.trace_) - 1)]
                                 for part in self._parts)) for k in range(longest)]
        self.n_iter_ = max(part.n_iter_ for part in self._parts)
        self.converged_ = all(part.converged_ for part in self._parts)
        self.stop_reason_ = largest.stop_reason_
        self.haplotypes_ = np.concatenate([part.haplotypes_ for part in self._parts], axis=2)
        offsets = [stretch.sites.start for stretch in self._stretches]
        self.match_ = SiteMatch(
            np.concatenate([part.match_.typed + offset
                            for part, offset in zip(self._parts, offsets)]),
            np.concatenate([stretch.target_sites[part.match_.target_index]
                            for part, stretch in zip(self._parts, self._stretches)]),
            {key: sum(part.match_.dropped.get(key, 0) for part in self._parts)
             for key in set().union(*(part.match_.dropped for part in self._parts))})
        self._panel, self._target = panel, target
        self._per_window = largest._per_window
        return self

    def _phase(self, typed_panel, genotypes, switch, mismatch, previous=None,
               refine=True) -> np.ndarray:
        """(2, N, M) phased alleles of every target at the typed markers (-1 where the
        genotype is missing): the diploid Viterbi path over candidate haplotypes per
        window, then (``refine``) switch and flip moves while they raise the likelihood.
        The candidates are the haplotypes with the fewest opposite homozygotes in the
        window, or, given a ``previous`` phasing, those with the longest matches to its
        haplotypes around the window (measured at 40,000 simulated panel haplotypes:
        rare-variant r2 half-way to what the true phase gives)."""
        if previous is None:
            bounds, offsets, candidates = self._candidates.fewest_conflicts(
                genotypes, self._per_window)
        else:
            bounds, offsets, candidates = self._candidates.longest_runs(previous,
                                                                        self._per_window)
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
        state_rows = np.concatenate([self._model.rows, targets[0], targets[1]])
        owners = n_haps + np.column_stack([np.arange(n_samples),
                                           n_samples + np.arange(n_samples)])
        width = min(self.phase_states, states.shape[1] - 2)
        bounds, offsets, candidates = self._candidates.longest_runs(haplotypes, width // 2,
                                                                    states, owners)
        refined = refine_cohort(state_rows, haplotypes, genotypes, bounds, offsets, candidates,
                                switch, mismatch, self.sweeps, width)
        refined[:, genotypes < 0] = -1
        return refined

    def _composites(self, haplotypes, width) -> Composites | None:
        """Composite panels of ``width`` haplotypes per sample, half of them those with
        the longest matches to each of its phased haplotypes (2, N, M) per window; None
        when the panel is no larger."""
        if self._candidates.panel.shape[1] <= width:
            return None
        bounds, offsets, candidates = self._candidates.longest_runs(haplotypes, width // 2)
        return Composites(bounds, offsets, candidates, width)

    def predict(self) -> Imputed:
        """ALT probabilities of both phased haplotypes of every target at every panel
        site: typed and observed alleles as given, the rest imputed."""
        if self._stretches is not None:
            return self._predict_stretches()
        started = time.perf_counter()
        panel = self._panel
        typed, n_haps = self.match_.typed, panel.n_haplotypes
        left, weight = interpolation(self._centimorgans[typed], self._centimorgans)
        haplotypes = self.haplotypes_
        n_samples = haplotypes.shape[1]
        flat = haplotypes.reshape(-1, haplotypes.shape[2])
        missing = flat < 0  # missing typed genotypes are imputed like untyped sites
        switch = self._model.switch(self.params_)
        if n_haps <= self.impute_states:
            probs = impute_haplotypes(self._typed_panel, flat, switch, self.params_.mismatch,
                                      *carriers_of(panel.rows()), left, weight)
        else:   # sample by sample chunks: their composites are never all held at once
            probs = np.empty((2, n_samples, panel.n_sites), dtype=np.float32)
            lists = panel.blocks.site_lists()
            for start in range(0, n_samples, IMPUTE_CHUNK):
                part = np.ascontiguousarray(haplotypes[:, start:start + IMPUTE_CHUNK])
                probs[:, start:start + IMPUTE_CHUNK] = blocks_impute(
                    self._model.rows, lists, part, *self._composites(part, self.impute_states),
                    switch, self.params_.mismatch, left, weight)
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
                  "viterbi_states": self._per_window,
                  "phase_states": min(self.phase_states, n_haps),
                  "impute_states": min(self.impute_states, n_haps),
                  "dropped_target_sites": self.match_.dropped,
                  "skipped_target_records": self._target.skipped,
                  "skipped_panel_records": panel.skipped,
                  "timings": {**self.timings_, "impute": time.perf_counter() - started}}
        return Imputed(panel.chrom, panel.pos, panel.ids, panel.ref, panel.alt,
                       self._target.samples, (probs[0], probs[1]), imputed, record,
                       source_records=panel.records)

    def _predict_stretches(self) -> Imputed:
        """The stretches' results side by side, haploid samples marked."""
        parts = [part.predict() for part in self._parts]
        haploid = np.concatenate([np.repeat(stretch.haploid_targets[:, None],
                                            stretch.sites.stop - stretch.sites.start, axis=1)
                                  for stretch in self._stretches], axis=1)
        record = dict(parts[0].record)
        for key in ("typed_sites", "panel_sites"):
            record[key] = sum(part.record[key] for part in parts)
        record.update(
            theta=self.params_.theta, mismatch=self.params_.mismatch,
            log_likelihood=self.loglik_, trace=self.trace_, n_iter=self.n_iter_,
            converged=self.converged_, stop_reason=self.stop_reason_,
            panel_haplotypes=int(self._panel.n_haplotypes),
            dropped_target_sites=self.match_.dropped,
            timings={key: sum(part.record["timings"].get(key, 0.0) for part in parts)
                     for key in parts[0].record["timings"]},
            ploidy_stretches=[
                {"region": f"{self._panel.chrom[0]}:{self._panel.pos[stretch.sites.start]}-"
                           f"{self._panel.pos[stretch.sites.stop - 1]}",
                 "x_specific": stretch.x_specific,
                 "panel_haplotypes": int(stretch.present.shape[0]),
                 "haploid_targets": int(stretch.haploid_targets.sum()),
                 "typed_sites": part.record["typed_sites"], "theta": part.record["theta"],
                 "mismatch": part.record["mismatch"],
                 "log_likelihood": part.record["log_likelihood"]}
                for stretch, part in zip(self._stretches, parts)])
        panel = self._panel
        return Imputed(panel.chrom, panel.pos, panel.ids, panel.ref, panel.alt,
                       self._target.samples,
                       tuple(np.concatenate([part.haplotype_probs[copy] for part in parts],
                                            axis=1) for copy in range(2)),
                       np.concatenate([part.imputed for part in parts]), record,
                       source_records=panel.records, haploid=haploid)
