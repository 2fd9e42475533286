"""``HaplotypeEM``: haplotype frequencies from unphased genotypes, scikit-learn style.

fit(genotypes) estimates the frequencies by maximum likelihood (see
:mod:`emapps.haplo.estimate`), with standard errors, each subject's posterior
haplotype pairs, and the likelihood-ratio test of no LD; predict(genotypes) phases
subjects (most likely pair) under the fitted frequencies, predict_proba gives every
pair's posterior and score the log-likelihood.
"""

import time

import numpy as np

from ..core.estimator import Estimator, take_renamed_keywords
from ..core.record import run_record
from ..core.validation import check_positive_int
from ..em import iterated_search
from ..errors import UserInputError
from ..kernels.pairs import pair_posteriors
from .estimate import (FrequencyModel, Settings, all_pairs, final_stage, locus_loglik,
                       perturbed_start, rephase_subjects, run_start)
from .io import Genotypes
from .stats import no_ld_test, pairwise_ld, standard_errors

#: haplotypes below this frequency are dropped from the fitted table (EM's zeros)
DROP_FREQ = 1e-12
#: a perturbed start mixes the best fit with this share of noise (drawn per start)
STRENGTH_RANGE = (0.5, 0.95)


class HaplotypeEM(Estimator):
    """Maximum-likelihood haplotype frequencies for unrelated diploid subjects.

    Fitted attributes: ``haplotypes_`` (H x L allele codes, most frequent first),
    ``frequencies_``, ``standard_errors_``, ``expected_counts_`` (2 sum w f),
    ``loglik_``, ``n_iter_``, ``converged_``, ``trace_`` (log-likelihood per iteration
    of the final EM), ``start_logliks_``, ``pairs_`` / ``posteriors_`` (the training
    subjects' haplotype pairs), ``lrt_`` (test of no LD), ``loci_``, ``allele_names_``
    and ``record_`` (settings, seed, stages and timings as JSON-able values).
    """

    _fitted_attribute = "frequencies_"

    def __init__(self, n_init=10, *, random_state=None, min_posterior=1e-9, tol=1e-9,
                 max_iter=5000, max_expand=4096, standard_errors=True, **renamed):
        self.n_init = n_init
        self.random_state = random_state
        self.min_posterior = min_posterior
        self.tol = tol
        self.max_iter = max_iter
        self.max_expand = max_expand
        self.standard_errors = standard_errors
        take_renamed_keywords(self, renamed)

    def check_settings(self) -> Settings:
        """The fit's settings; UserInputError for an invalid one (before any data is read)."""
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.max_expand, "max_expand")
        if not 0.0 <= self.min_posterior < 1.0:
            raise UserInputError(f"min_posterior must be in [0, 1); got {self.min_posterior}")
        if not self.tol > 0:
            raise UserInputError(f"tol must be positive; got {self.tol}")
        return Settings(min_posterior=self.min_posterior, tol=self.tol,
                        max_iter=self.max_iter, max_expand=self.max_expand)

    def fit(self, genotypes: Genotypes, weights=None, progress=None) -> "HaplotypeEM":
        """Estimate haplotype frequencies; ``progress`` is called once per start."""
        settings = self.check_settings()
        if not isinstance(genotypes, Genotypes):
            raise UserInputError("fit expects Genotypes (see emapps.haplo.read_genotypes)")
        weights = _check_weights(weights, genotypes.n_subjects)
        started = time.perf_counter()
        distinct, counts = genotypes.collapse(weights)

        def first(rng):
            result = run_start(distinct, counts, settings)
            if progress:
                progress()
            return result

        def perturb(best, rng):
            result = perturbed_start(best, distinct, counts, rng, settings,
                                     strength=rng.uniform(*STRENGTH_RANGE))
            if progress:
                progress()
            return result

        best, entropy, logliks = iterated_search(self._seed_sequence(), self.n_init, first,
                                                perturb)
        best = rephase_subjects(best, distinct, counts, settings)
        search_seconds = time.perf_counter() - started
        polished = final_stage(best.pairs.codes, best.freq, distinct, counts, settings,
                               settings.tol, best.stages)
        if polished.loglik < best.loglik:
            polished = best
        self._store(polished, genotypes, weights, settings)
        self.start_logliks_ = [float(value) for value in logliks]
        self.seed_ = entropy
        self.lrt_ = no_ld_test(self.loglik_, self._no_ld_loglik(distinct, counts, settings),
                               self.frequencies_, _observed_alleles(genotypes))
        self.record_ = self._record(polished, genotypes, distinct, settings, {
            "search": search_seconds, "total": time.perf_counter() - started})
        return self

    def _store(self, result, genotypes, weights, settings):
        order = np.argsort(-result.freq, kind="stable")
        order = order[result.freq[order] > DROP_FREQ]
        codes = result.pairs.codes[order]
        freq = result.freq[order] / result.freq[order].sum()
        pairs = all_pairs(codes, genotypes)
        stats = FrequencyModel(weights).e_step(freq, pairs)
        posterior, _ = pair_posteriors(pairs.offsets, pairs.first, pairs.second, freq)
        self.haplotypes_ = codes
        self.frequencies_ = freq
        self.expected_counts_ = 2.0 * weights.sum() * freq
        self.standard_errors_ = (standard_errors(pairs, freq, weights)
                                 if self.standard_errors else np.full(freq.shape, np.nan))
        self.pairs_, self.posteriors_ = pairs, posterior
        self.loglik_ = float(stats["loglik"])
        self.n_iter_ = result.em.n_iter
        self.converged_ = bool(result.converged)
        self.trace_ = [float(value) for value in result.em.trace]
        self.loci_ = list(genotypes.loci)
        self.allele_names_ = [list(names) for names in genotypes.allele_names]
        self.n_subjects_ = genotypes.n_subjects
        self.subjects_ = list(genotypes.subjects)
        self._stages = result.stages
        self._rounds = result.rounds
        self._skipped = result.skipped_subjects

    def _no_ld_loglik(self, genotypes, weights, settings) -> float:
        """Sum over loci of the single-locus (allele frequency) maximum likelihood."""
        return sum(locus_loglik(genotypes, weights, locus, settings)
                   for locus in range(genotypes.n_loci))

    def _record(self, result, genotypes, distinct, settings, timings) -> dict:
        warnings = [] if self.converged_ else [
            f"the final EM did not converge in {self.n_iter_} iterations"]
        return run_record(
            settings={**self._settings(), "tol_on": "total"}, seed=self.seed_,
            log_likelihood=self.loglik_, trace=self.trace_, n_iter=self.n_iter_,
            converged=self.converged_, timings=timings, warnings=warnings, **{
            "stop_reason": result.em.stop_reason,
            "n_haplotypes": int(self.frequencies_.shape[0]),
            "n_subjects": genotypes.n_subjects,
            "n_distinct_genotypes": distinct.n_subjects,
            "n_loci": genotypes.n_loci,
            "loci": self.loci_,
            "dropped": genotypes.dropped,
            "start_logliks": self.start_logliks_,
            "column_generation_rounds": self._rounds,
            "subjects_not_searched": self._skipped,
            "insertion_stages": self._stages,
            "no_ld_test": self.lrt_})

    # ------------------------------------------------------------ prediction
    def _recode(self, genotypes: Genotypes) -> Genotypes:
        """Genotypes in the fitted model's loci and allele codes (unknown alleles get a
        code no haplotype carries)."""
        self._check_fitted()
        if list(genotypes.loci) != self.loci_:
            genotypes = genotypes.select_loci(self.loci_)
        alleles = np.full(genotypes.alleles.shape, -1, dtype=np.int16)
        for locus, (names, fitted) in enumerate(zip(genotypes.allele_names,
                                                    self.allele_names_)):
            index = {name: code for code, name in enumerate(fitted)}
            lookup = np.array([index.get(name, len(fitted)) for name in names] + [-1],
                              dtype=np.int16)
            alleles[:, locus] = lookup[genotypes.alleles[:, locus]]
        return Genotypes(alleles, genotypes.subjects, self.loci_, self.allele_names_,
                         genotypes.phased, genotypes.source)

    def predict_proba(self, genotypes: Genotypes):
        """(PairSet over the fitted haplotypes, posterior of each pair, log L_i); a
        subject no fitted pair explains gets no pairs and log L_i = -inf."""
        recoded = self._recode(genotypes)
        pairs = all_pairs(self.haplotypes_, recoded)
        posterior, subject_loglik = pair_posteriors(pairs.offsets, pairs.first,
                                                    pairs.second, self.frequencies_)
        return pairs, posterior, subject_loglik

    def predict(self, genotypes: Genotypes) -> np.ndarray:
        """Most likely haplotype pair per subject: (n, 2) haplotype indices, -1 if none."""
        pairs, posterior, _ = self.predict_proba(genotypes)
        best = np.full((pairs.offsets.shape[0] - 1, 2), -1, dtype=np.int64)
        for subject in range(best.shape[0]):
            lo, hi = pairs.offsets[subject], pairs.offsets[subject + 1]
            if hi > lo:
                j = lo + int(np.argmax(posterior[lo:hi]))
                best[subject] = pairs.first[j], pairs.second[j]
        return best

    def score(self, genotypes: Genotypes) -> float:
        """Total log-likelihood of the genotypes under the fitted frequencies."""
        return float(self.predict_proba(genotypes)[2].sum())

    def haplotype_labels(self, separator="-") -> list[str]:
        """Each fitted haplotype as its allele names joined by ``separator``."""
        self._check_fitted()
        return [separator.join(self.allele_names_[locus][code]
                               for locus, code in enumerate(row)) for row in self.haplotypes_]

    def linkage_disequilibrium(self) -> dict:
        """Pairwise D, D' and r2 between loci under the fitted frequencies."""
        self._check_fitted()
        n_alleles = np.array([len(names) for names in self.allele_names_])
        return pairwise_ld(self.haplotypes_, self.frequencies_, n_alleles)


def _check_weights(weights, n_subjects) -> np.ndarray:
    if weights is None:
        return np.ones(n_subjects)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (n_subjects,):
        raise UserInputError(f"weights must hold one value per subject ({n_subjects}); "
                             f"got shape {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise UserInputError("weights must be finite and >= 0")
    return weights


def _observed_alleles(genotypes: Genotypes) -> np.ndarray:
    """Alleles seen at each locus (free parameters of the no-LD model)."""
    return np.array([np.unique(genotypes.alleles[:, locus][genotypes.alleles[:, locus] >= 0]).size
                     for locus in range(genotypes.n_loci)])
