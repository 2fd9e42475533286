"""The admixture model (ADMIXTURE's likelihood) fitted by EM through the core driver.

g_ij ~ Binomial(2, p_ij), p_ij = sum_k q_ik f_jk: Q (N x K, rows on the simplex) holds
each individual's ancestry proportions, F (M x K) each population's A1 frequencies.
The E-step splits every observed allele copy over the K populations; the M-step is
closed form (Alexander et al. 2009; Frichot et al. 2014): q_ik <- q_ik q_num[k, i] /
(2 n_i), n_i the individual's observed calls, and f_jk <- f_num / f_den.  Statistics add
over SNP blocks.  SQUAREM extrapolates (Q, F) jointly and falls back to the EM step when
the likelihood would fall.  Q and F are kept in [1e-5, 1 - 1e-5] (Q's rows renormalised),
as ADMIXTURE and fastmixture bound them.
"""

from dataclasses import dataclass

import numpy as np

from ..kernels.admixture import admixture_statistics, heldout_deviance, weighted_frequencies
from ..kernels.parallel import add_in_order, map_chunks
from .genotypes import SNP_CHUNK

#: bounds on every proportion and frequency
BOUND = 1e-5


@dataclass
class AdmixtureParams:
    Q: np.ndarray   # (N, K)
    F: np.ndarray   # (M, K)


@dataclass(frozen=True)
class Fold:
    """Cross-validation's held-out calls: fold ``index`` of ``n_folds`` under ``key``."""

    key: int
    n_folds: int
    index: int


def bounded_proportions(Q) -> np.ndarray:
    Q = np.clip(Q, BOUND, 1 - BOUND)
    return Q / Q.sum(axis=1, keepdims=True)


class AdmixtureEM:
    """The model as the driver runs it: chunks are SNP ranges (start, stop) of
    ``packed`` ((M, ceil(N / 4)) .bed rows).  ``fixed`` (N,) gives the component of each
    individual whose Q is fixed (supervised mode; -1 free); ``frequencies`` fixes F
    (projection: only Q is fitted); ``fold`` leaves a cross-validation fold out."""

    def __init__(self, packed, n_samples: int, n_components: int, *, fixed=None,
                 frequencies=None, fold: Fold | None = None):
        self.packed, self.n_samples, self.n_components = packed, n_samples, n_components
        self.fixed = None if fixed is None or (np.asarray(fixed) < 0).all() else np.asarray(fixed)
        self.frequencies = frequencies
        self.fold = fold

    @property
    def n_snps(self) -> int:
        return self.packed.shape[0]

    def chunks(self) -> list:
        return [(0, self.n_snps)]

    # ------------------------------------------------------------------ starting point
    def initial_params(self, data, rng) -> AdmixtureParams:
        """Q drawn from a flat Dirichlet (supervised rows fixed), F the A1 frequencies
        of the individuals weighted by Q."""
        Q = self._with_fixed(bounded_proportions(
            rng.dirichlet(np.ones(self.n_components), self.n_samples)))
        if self.frequencies is not None:
            return AdmixtureParams(Q, self.frequencies)
        q_t = np.ascontiguousarray(Q.T)
        F = np.empty((self.n_snps, self.n_components))
        map_chunks(lambda start, stop: weighted_frequencies(self.packed, self.n_samples,
                                                            start, stop, q_t, F),
                   self.n_snps, SNP_CHUNK)
        return AdmixtureParams(Q, np.clip(F, BOUND, 1 - BOUND))

    def _with_fixed(self, Q) -> np.ndarray:
        if self.fixed is not None:
            chosen = self.fixed >= 0
            Q[chosen] = BOUND
            Q[chosen, self.fixed[chosen]] = 1 - BOUND * (self.n_components - 1)
        return Q

    # --------------------------------------------------------------------- EM steps
    def e_step(self, params: AdmixtureParams, chunk) -> dict:
        start, stop = chunk
        n, k = self.n_samples, self.n_components
        q_t = np.ascontiguousarray(params.Q.T)
        F = np.ascontiguousarray(params.F)
        with_f = self.frequencies is None
        f_num = np.zeros((self.n_snps, k)) if with_f else np.zeros((0, k))
        f_den = np.zeros_like(f_num)
        fold = self.fold or Fold(0, 1, -1)

        def block(first, last):
            q_num, observed = np.zeros((k, n)), np.zeros(n)
            loglik = admixture_statistics(self.packed, n, start + first, start + last, q_t,
                                          F, fold.key, fold.n_folds, fold.index, with_f,
                                          q_num, observed, f_num, f_den)
            return q_num, observed, loglik

        q_num, observed, loglik = add_in_order(map_chunks(block, stop - start, SNP_CHUNK))
        return {"loglik": float(loglik), "weight": float(observed.sum()), "q_num": q_num,
                "observed": observed, "f_num": f_num, "f_den": f_den}

    def m_step(self, params: AdmixtureParams, stats) -> AdmixtureParams:
        Q = params.Q * stats["q_num"].T / (2.0 * np.maximum(stats["observed"], 1.0))[:, None]
        Q = self._with_fixed(bounded_proportions(Q))
        if self.frequencies is not None:
            return AdmixtureParams(Q, params.F)
        with np.errstate(invalid="ignore", divide="ignore"):
            F = np.where(stats["f_den"] > 0, stats["f_num"] / stats["f_den"], params.F)
        return AdmixtureParams(Q, np.clip(F, BOUND, 1 - BOUND))

    # ------------------------------------------------------------------ SQUAREM
    def pack(self, params: AdmixtureParams) -> np.ndarray:
        if self.frequencies is not None:
            return params.Q.ravel()
        return np.concatenate([params.Q.ravel(), params.F.ravel()])

    def unpack(self, vector, like: AdmixtureParams) -> AdmixtureParams | None:
        if not np.all(np.isfinite(vector)):
            return None
        size = like.Q.size
        Q = self._with_fixed(bounded_proportions(vector[:size].reshape(like.Q.shape)))
        if self.frequencies is not None:
            return AdmixtureParams(Q, like.F)
        return AdmixtureParams(Q, np.clip(vector[size:].reshape(like.F.shape), BOUND,
                                          1 - BOUND))

    # ------------------------------------------------------------ cross-validation
    def heldout_error(self, params: AdmixtureParams, fold: Fold) -> tuple:
        """(sum of deviance residuals, calls) over ``fold``'s held-out calls."""
        q_t = np.ascontiguousarray(params.Q.T)
        F = np.ascontiguousarray(params.F)
        parts = map_chunks(lambda start, stop: heldout_deviance(
            self.packed, self.n_samples, start, stop, q_t, F, fold.key, fold.n_folds,
            fold.index), self.n_snps, SNP_CHUNK)
        return add_in_order(parts)
