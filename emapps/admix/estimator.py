"""``Admixture``: ancestry proportions and population allele frequencies, ADMIXTURE's
model, as a scikit-learn-style estimator (see :mod:`emapps.admix.model` for the EM)."""

import time
from dataclasses import dataclass

import numpy as np

from ..core.estimator import Estimator, seed_sequence
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from .genotypes import SNP_CHUNK, Genotypes, is_dask, pack
from .model import BOUND, INITS, AdmixtureEM, AdmixtureParams, Fold


#: relative tolerance of cross-validation's refits (from the full fit)
CV_TOL = 1e-7


@dataclass
class Cleaned:
    """What a fit runs on: the SNPs and individuals that carry information."""

    packed: np.ndarray
    samples: np.ndarray      # kept individuals (indices)
    snps: np.ndarray         # kept SNPs (indices)
    frequencies: np.ndarray  # (M,) every SNP's observed A1 frequency (0.5 if none)
    dropped: dict


def as_genotypes(X) -> Genotypes:
    """A :class:`Genotypes`, or an (N, M) array of A1 counts (0-2; -1 or NaN missing)."""
    if isinstance(X, Genotypes):
        return X
    array = np.asarray(X, dtype=float)
    if array.ndim != 2:
        raise UserInputError(f"genotypes must be an (individuals, SNPs) array; got shape "
                             f"{array.shape}")
    missing = ~np.isfinite(array) | (array < 0)
    values = np.where(missing, 0, array)
    if np.any((values != np.round(values)) | (values > 2)):
        raise UserInputError("genotypes must be A1 counts 0, 1 or 2 (missing: -1 or NaN)")
    counts = np.where(missing, -1, values).astype(np.int8)
    n, m = counts.shape
    names = [str(k) for k in range(n)]
    snps = np.array([f"snp{j}" for j in range(m)])
    return Genotypes(pack(counts.T), names, names, np.full(m, "0"), snps, np.zeros(m),
                     np.arange(1, m + 1), np.full(m, "A"), np.full(m, "B"), "array")


def clean(genotypes: Genotypes) -> Cleaned:
    """Leave out individuals without calls and SNPs without calls or without variation,
    counted."""
    per_sample, per_snp = genotypes.counts()
    observed, copies = per_snp[:, 0], per_snp[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        frequencies = np.where(observed > 0, copies / (2 * np.maximum(observed, 1)), 0.5)
    samples = np.flatnonzero(per_sample > 0)
    no_calls = observed == 0
    monomorphic = ~no_calls & ((copies == 0) | (copies == 2 * observed))
    snps = np.flatnonzero(~no_calls & ~monomorphic)
    dropped = {name: int(value) for name, value in (
        ("individuals_without_calls", genotypes.n_samples - samples.shape[0]),
        ("snps_without_calls", no_calls.sum()), ("monomorphic_snps", monomorphic.sum()))
        if value}
    if is_dask(genotypes.packed):   # blocks stay where they are
        if samples.shape[0] != genotypes.n_samples:
            raise UserInputError(f"{genotypes.n_samples - samples.shape[0]} individuals "
                                 f"have no calls; remove them before a Dask fit (plink "
                                 f"--mind 1)")
        packed = genotypes.packed if snps.shape[0] == genotypes.n_snps \
            else genotypes.packed[snps]
        # blocks of the kernels' own chunk: the statistics add in the order they add in
        # memory, so the answer is the same to the last bit
        packed = packed.rechunk({0: SNP_CHUNK, 1: -1})
        return Cleaned(packed, samples, snps, frequencies, dropped)
    source = genotypes if samples.shape[0] == genotypes.n_samples \
        else genotypes.take_samples(samples)
    packed = source.packed if snps.shape[0] == genotypes.n_snps else source.packed[snps]
    return Cleaned(np.ascontiguousarray(packed), samples, snps, frequencies, dropped)


class Admixture(Estimator):
    """Ancestry proportions Q (individuals x K) and A1 frequencies F (SNPs x K) by
    maximum likelihood under ADMIXTURE's model, fitted by EM with quasi-Newton (or
    SQUAREM) acceleration.

    Fitted attributes: ``Q_``, ``F_``, ``log_likelihood_`` (sum over observed calls of g
    log p + (2 - g) log(1 - p)), ``trace_``, ``n_iter_``, ``converged_``, ``seed_``,
    ``dropped_`` (individuals and SNPs left out: they carry no information; their Q rows
    are 1/K and their F rows the observed frequency), ``restart_log_likelihoods_``.
    ``tol``: stop when the log-likelihood's relative change per step falls below it
    (ADMIXTURE stops at an absolute change of 1e-4, about 1e-11 relative on HapMap3).
    ``init``: 'pca' (clusters of principal components, see :class:`AdmixtureEM`) or
    'random' (a flat Dirichlet draw)."""

    _fitted_attribute = "Q_"
    _estimator_type = "transformer"

    def __init__(self, n_components=3, *, n_init=1, max_iter=3000, tol=1e-10,
                 init="pca", accelerate="qn", random_state=None):
        self.n_components = n_components
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.accelerate = accelerate
        self.random_state = random_state

    def _check(self, n_samples):
        if not isinstance(self.n_components, (int, np.integer)) or self.n_components < 2:
            raise UserInputError(f"K (n_components) must be an integer >= 2; got "
                                 f"{self.n_components!r}")
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter")
        if self.n_components >= n_samples:
            raise UserInputError(f"K = {self.n_components} needs more than K individuals "
                                 f"with calls; there are {n_samples}")
        if not self.tol > 0:
            raise UserInputError(f"tol must be > 0; got {self.tol}")
        if self.init not in INITS:
            raise UserInputError(f"init must be one of {', '.join(INITS)}; got {self.init!r}")

    def fit(self, X, y=None, *, populations=None, progress=None) -> "Admixture":
        """Fit on ``X`` (:class:`Genotypes` or an (N, M) array of A1 counts).  Genotypes
        whose ``packed`` .bed rows are a Dask array (``dask.array.from_zarr``, ...) are
        fitted block of rows by block on Dask's scheduler (a ``distributed.Client``
        when one is active): only parameters and statistics travel.
        ``populations``: supervised mode, each individual's component (-1 unknown),
        see :func:`emapps.admix.supervised.supervised_components`."""
        started = time.perf_counter()
        genotypes = as_genotypes(X)
        cleaned = clean(genotypes)
        self._check(cleaned.samples.shape[0])
        fixed = None if populations is None else np.asarray(populations)[cleaned.samples]
        model = AdmixtureEM(cleaned.packed, cleaned.samples.shape[0], self.n_components,
                            fixed=fixed, init=self.init)
        sequence = seed_sequence(self.random_state)
        map_fn = map
        if is_dask(cleaned.packed):
            from ..em.dask import DaskMap
            map_fn = DaskMap()
        result = fit_em(model, None, chunks=model.chunks(), n_init=self.n_init,
                        seed=sequence, max_iter=self.max_iter, tol=self.tol,
                        tol_on="relative", accelerate=self.accelerate, warn=False,
                        map_fn=map_fn,
                        callback=(lambda *args: progress()) if progress else None)
        self._model, self._cleaned, self._params = model, cleaned, result.params
        self.Q_, self.F_ = self._full(genotypes, cleaned, result.params)
        self.log_likelihood_ = float(result.loglik)
        self.trace_ = list(result.trace)
        self.n_iter_, self.converged_ = result.n_iter, result.converged
        self.seed_ = result.seed
        self.restart_log_likelihoods_ = list(result.restart_logliks)
        self.dropped_ = cleaned.dropped
        self.n_calls_ = int(result.weight)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _full(self, genotypes, cleaned, params) -> tuple:
        """Q and F over every individual and SNP, the left-out ones filled in."""
        Q = np.full((genotypes.n_samples, self.n_components), 1.0 / self.n_components)
        Q[cleaned.samples] = params.Q
        frequency = np.clip(cleaned.frequencies, BOUND, 1 - BOUND)
        F = np.repeat(frequency[:, None], self.n_components, axis=1)
        F[cleaned.snps] = params.F
        return Q, F

    @property
    def n_parameters_(self) -> int:
        """Free parameters: N (K - 1) proportions and M K frequencies (of the SNPs fitted)."""
        self._check_fitted()
        return int(self._cleaned.samples.shape[0] * (self.n_components - 1)
                   + self._cleaned.snps.shape[0] * self.n_components)

    def information_criteria(self) -> dict:
        """AIC and BIC (smaller is better; n = the observed calls) of the fit."""
        self._check_fitted()
        k = self.n_parameters_
        return {"aic": 2 * k - 2 * self.log_likelihood_,
                "bic": k * np.log(self.n_calls_) - 2 * self.log_likelihood_}

    # --------------------------------------------------------------- projection
    def transform(self, X) -> np.ndarray:
        """Q of new individuals with F fixed at ``F_`` (ADMIXTURE's -P projection): X
        has the fitted SNPs, in the same order."""
        self._check_fitted()
        genotypes = as_genotypes(X)
        if genotypes.n_snps != self.F_.shape[0]:
            raise UserInputError(f"the new genotypes have {genotypes.n_snps} SNPs; the fit "
                                 f"has {self.F_.shape[0]}")
        return project(genotypes, self.F_, tol=self.tol, max_iter=self.max_iter)

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        return self.fit(X, **fit_params).Q_

    # ------------------------------------------------------------ cross-validation
    def cross_validation_error(self, n_folds: int = 5, key: int = 0) -> tuple:
        """ADMIXTURE's cross-validation error: the fitted calls are split into
        ``n_folds`` folds; each fold is held out in turn, the model refitted from the
        full fit (to a relative change of CV_TOL: the flat tail of an over-parametrised
        K takes thousands of iterations and moves the error by less than its standard
        error), and the held-out calls predicted (mean deviance residual over all
        held-out calls).  Returns (error, its standard error over folds)."""
        self._check_fitted()
        check_positive_int(n_folds, "n_folds", minimum=2)
        deviance, counts = [], []
        for index in range(n_folds):
            fold = Fold(key, n_folds, index)
            model = AdmixtureEM(self._cleaned.packed, self._cleaned.samples.shape[0],
                                self.n_components, fixed=self._model.fixed, fold=fold)
            result = fit_em(model, None, chunks=model.chunks(), seed=0,
                            init_params=self._params, max_iter=self.max_iter,
                            tol=max(self.tol, CV_TOL), tol_on="relative",
                            accelerate=self.accelerate, warn=False)
            total, count = model.heldout_error(result.params, fold)
            deviance.append(total)
            counts.append(count)
        per_fold = np.array(deviance) / np.maximum(counts, 1)
        return (float(np.sum(deviance) / max(np.sum(counts), 1)),
                float(per_fold.std(ddof=1) / np.sqrt(n_folds)))

    # ------------------------------------------------------------------ bootstrap
    def bootstrap_standard_errors(self, n_replicates: int, *, block_snps: int = 500,
                                  random_state=None) -> np.ndarray:
        """(N, K) standard errors of Q by the SNP-block bootstrap: blocks of
        ``block_snps`` consecutive fitted SNPs drawn with replacement, each replicate
        refitted from the full fit (so its components keep their order)."""
        self._check_fitted()
        check_positive_int(n_replicates, "n_replicates", minimum=2)
        packed, params = self._cleaned.packed, self._params
        n_snps = packed.shape[0]
        starts = np.arange(0, n_snps, block_snps)
        replicates = []
        for child in seed_sequence(random_state).spawn(n_replicates):
            chosen = np.random.default_rng(child).choice(starts, size=starts.shape[0])
            rows = np.concatenate([np.arange(start, min(start + block_snps, n_snps))
                                   for start in np.sort(chosen)])
            model = AdmixtureEM(np.ascontiguousarray(packed[rows]), params.Q.shape[0],
                                self.n_components, fixed=self._model.fixed)
            result = fit_em(model, None, chunks=model.chunks(), seed=0,
                            init_params=AdmixtureParams(params.Q, params.F[rows]),
                            max_iter=self.max_iter, tol=self.tol, tol_on="relative",
                            accelerate=self.accelerate, warn=False)
            replicates.append(result.params.Q)
        errors = np.zeros_like(self.Q_)
        errors[self._cleaned.samples] = np.std(replicates, axis=0, ddof=1)
        return errors


def project(genotypes: Genotypes, F, *, tol=1e-10, max_iter=3000,
            accelerate="squarem") -> np.ndarray:
    """(N, K) ancestry proportions of ``genotypes`` with the frequencies ``F`` (M, K)
    fixed; individuals without calls get 1/K.  SQUAREM, not the quasi-Newton step, by
    default: with F fixed it converged 3.4x sooner (HapMap 3, K = 3: 25 ms per
    individual at 1 thread)."""
    n_components = F.shape[1]
    per_sample, _ = genotypes.counts()
    Q = np.full((genotypes.n_samples, n_components), 1.0 / n_components)
    called = np.flatnonzero(per_sample > 0)
    if called.size == 0:
        return Q
    source = genotypes if called.size == genotypes.n_samples \
        else genotypes.take_samples(called)
    model = AdmixtureEM(np.ascontiguousarray(source.packed), called.size, n_components,
                        frequencies=np.ascontiguousarray(F, dtype=float))
    start = AdmixtureParams(np.full((called.size, n_components), 1.0 / n_components), F)
    result = fit_em(model, None, chunks=model.chunks(), seed=0, init_params=start,
                    max_iter=max_iter, tol=tol, tol_on="relative", accelerate=accelerate,
                    warn=False)
    Q[called] = result.params.Q
    return Q
