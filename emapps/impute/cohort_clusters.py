"""Cohort imputation without a reference panel: the haplotype-cluster model of fastPHASE
(Scheet & Stephens 2006) fitted by EM.

Each haplotype walks through K clusters along the markers: between markers m and m + 1 it
stays in its cluster with probability t_m, else jumps to cluster k with probability
a_(m+1)k; cluster k carries allele 1 at marker m with probability theta_mk.  A genotype is
the sum of two independent walks.  The E-step is a forward-backward pass over the K^2
cluster pairs of each sample (O(M K^2), transitions factorised per copy); the M-step
sets theta_mk = (expected allele-1 emissions + c) / (expected copies + 2c) (a Beta(c + 1,
c + 1) prior, MAP), a_mk = expected jumps into k / all jumps at m, and
1 - t_m = expected jumps / 2N.  Several seeded starts are fitted and their posterior
genotype probabilities averaged, as fastPHASE does.
"""

from dataclasses import dataclass, field

import numpy as np

from ..core.estimator import Estimator, take_renamed_keywords
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.haplotype_clusters import cluster_genotype_probs, cluster_statistics
from .io import Calls, check_one_chromosome
from .imputed import ImputedSites, variance_ratio

#: Beta(c + 1, c + 1) prior on every theta_mk
THETA_PRIOR = 0.01
#: t_m starts here, and stays inside [MIN_STAY, MAX_STAY]
INITIAL_STAY, MIN_STAY, MAX_STAY = 0.9, 1e-4, 1.0 - 1e-6


@dataclass
class ClusterParams:
    theta: np.ndarray     # (M, K) allele-1 rate of each cluster
    jump_to: np.ndarray   # (M, K) where a jump lands (row 0: where walks start)
    stay: np.ndarray      # (M - 1,) probability of no jump between markers


class ClusterEM:
    """MAP-EM for the haplotype-cluster model over chunks of genotypes (N, M)."""

    def __init__(self, n_markers, n_clusters):
        self.n_markers, self.n_clusters = n_markers, n_clusters

    def initial_params(self, genotypes, rng) -> ClusterParams:
        shape = (self.n_markers, self.n_clusters)
        return ClusterParams(rng.uniform(0.05, 0.95, size=shape),
                             np.full(shape, 1.0 / self.n_clusters),
                             np.full(self.n_markers - 1, INITIAL_STAY))

    def e_step(self, params: ClusterParams, genotypes) -> dict:
        allele_one, copies, jumps, loglik = cluster_statistics(
            genotypes, params.theta, params.jump_to, params.stay)
        return {"allele_one": allele_one, "copies": copies, "jumps": jumps, "loglik": loglik,
                "weight": float(genotypes.shape[0])}

    def log_prior(self, params: ClusterParams) -> float:
        theta = params.theta
        return THETA_PRIOR * float(np.sum(np.log(theta) + np.log1p(-theta)))

    def m_step(self, params: ClusterParams, stats: dict) -> ClusterParams:
        theta = (stats["allele_one"] + THETA_PRIOR) / (stats["copies"] + 2 * THETA_PRIOR)
        jumps = stats["jumps"]
        totals = jumps.sum(axis=1, keepdims=True)
        jump_to = np.where(totals > 0, jumps / np.maximum(totals, 1e-300),
                           1.0 / self.n_clusters)
        walks = 2.0 * stats["weight"]
        stay = np.clip(1.0 - totals[1:, 0] / walks, MIN_STAY, MAX_STAY)
        return ClusterParams(theta, jump_to, stay)


@dataclass
class CohortImputed(ImputedSites):
    """Posterior genotype probabilities of every sample at every site of the input."""

    probs: np.ndarray          # (N, S, 3): P(0, 1, 2 ALT alleles)
    observed: np.ndarray       # (2, N, S) the input alleles (-1 missing)
    phased: np.ndarray         # (N, S) whether the input call was phased
    record: dict = field(default_factory=dict)

    @property
    def dosage(self) -> np.ndarray:
        return self.probs[:, :, 1] + 2 * self.probs[:, :, 2]

    def genotype_probs(self) -> tuple:
        return self.probs[:, :, 0], self.probs[:, :, 1], self.probs[:, :, 2]

    @property
    def imputed(self) -> np.ndarray:
        """(S,) False: every site is typed in a cohort (Beagle's IMP is for untyped sites)."""
        return np.zeros(self.n_sites, dtype=bool)

    @property
    def dosage_r2(self) -> np.ndarray:
        """Estimated dosage r2: the variance of the dosages over its binomial value
        2p(1 - p), p the ALT frequency (0 at sites without variation)."""
        return variance_ratio(self.dosage, None, 2)

    def genotype_codes(self) -> np.ndarray:
        """(N, S) output GT codes: the input call where there is one (0|0, 0|1, 1|0, 1|1
        as 0-3 when phased, 0/0, 0/1, 1/1 as 4-6 when not), else the most probable
        genotype, unphased."""
        first, second = self.observed
        called = (first >= 0) & (second >= 0)
        phased_code = 2 * first + second
        unphased_code = 4 + first + second
        best = 4 + np.argmax(self.probs, axis=2)
        return np.where(called, np.where(self.phased, phased_code, unphased_code), best)


class CohortImputer(Estimator):
    """Fill missing genotype calls of a cohort by the haplotype-cluster model (fastPHASE).

    ``fit(calls)`` runs ``n_init`` EM fits from seeds spawned from ``random_state``;
    ``predict()`` averages their posterior genotype probabilities.  Fitted attributes:
    ``params_`` (one per start), ``logliks_``, ``traces_``, ``n_iter_``, ``converged_``.
    """

    _fitted_attribute = "params_"

    def __init__(self, n_clusters=10, *, n_init=4, max_iter=25, tol=1e-4, random_state=None,
                 **renamed):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        take_renamed_keywords(self, renamed)

    def fit(self, calls: Calls, progress=None) -> "CohortImputer":
        """Fit ``n_init`` EM starts; ``progress()``, when given, is called after each."""
        check_positive_int(self.n_clusters, "n_clusters")
        if self.n_clusters > 2 * len(calls.samples):
            raise UserInputError(f"{calls.source}: {self.n_clusters} clusters for "
                                 f"{2 * len(calls.samples)} haplotypes; use at most that many")
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter")
        check_one_chromosome(calls)
        if calls.n_sites < 2:
            raise UserInputError(f"{calls.source}: cohort imputation needs at least 2 sites")
        genotypes = calls.genotypes()
        model = ClusterEM(calls.n_sites, self.n_clusters)
        self.params_, self.logliks_, self.traces_, self.n_iter_ = [], [], [], []
        self.converged_ = []
        sequence = self._seed_sequence()
        self.seed_ = sequence.entropy
        for sequence in sequence.spawn(self.n_init):
            result = fit_em(model, genotypes, seed=sequence, max_iter=self.max_iter,
                            tol=self.tol, tol_on="mean", warn=False)
            self.params_.append(result.params)
            self.logliks_.append(result.loglik)
            self.traces_.append(list(result.trace))
            self.n_iter_.append(result.n_iter)
            self.converged_.append(result.converged)
            if progress:
                progress()
        self._calls, self._genotypes = calls, genotypes
        return self

    def predict(self) -> CohortImputed:
        probs = sum(cluster_genotype_probs(self._genotypes, p.theta, p.jump_to, p.stay)
                    for p in self.params_) / len(self.params_)
        calls = self._calls
        record = {"mode": "cohort", "n_clusters": self.n_clusters, "n_init": self.n_init,
                  "log_likelihoods": self.logliks_, "traces": self.traces_,
                  "start_n_iter": self.n_iter_, "start_converged": self.converged_,
                  "sites": int(calls.n_sites),
                  "missing_calls": int((self._genotypes < 0).sum()),
                  "skipped_records": calls.skipped}
        return CohortImputed(calls.chrom, calls.pos, calls.ids, calls.ref, calls.alt,
                             calls.samples, probs, calls.alleles, calls.phased, record)
