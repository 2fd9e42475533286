"""The admixture model (ADMIXTURE's likelihood) fitted by EM through the core driver.

g_ij ~ Binomial(2, p_ij), p_ij = sum_k q_ik f_jk: Q (N x K, rows on the simplex) holds
each individual's ancestry proportions, F (M x K) each population's A1 frequencies.
The E-step splits every observed allele copy over the K populations; the M-step is
closed form (Alexander et al. 2009; Frichot et al. 2014): q_ik <- q_ik q_num[k, i] /
(2 n_i), n_i the individual's observed calls, and f_jk <- f_num / f_den.  Statistics add
over SNP blocks.  The driver's quasi-Newton or SQUAREM step extrapolates (log Q, logit
F) jointly and falls back to the EM step when the likelihood would fall.  Q and F are kept in [1e-5, 1 - 1e-5] (Q's rows renormalised),
as ADMIXTURE and fastmixture bound them.
"""

from dataclasses import dataclass

import numpy as np

from ..kernels.admixture import admixture_statistics, heldout_deviance, weighted_frequencies
from ..kernels.parallel import add_in_order, map_chunks
from ..mixture.init import kmeans_plusplus, lloyd, one_hot
from .genotypes import SNP_CHUNK, blocks_in_memory, is_dask, unpack

#: bounds on every proportion and frequency
BOUND = 1e-5
#: starting share of each individual's own cluster
INIT_PURITY = 0.9
#: SNPs (at most) and genotype values (at most) the starting clusters are drawn from
INIT_SNPS, INIT_VALUES = 3000, 20_000_000
INITS = ("pca", "random")


def pca_clusters(packed, n_samples, n_components, rng) -> np.ndarray:
    """(N,) k-means clusters (k-means++ seeds, Lloyd) of the individuals' top K - 1
    principal components over a random subset of SNPs (standardised, missing calls at
    the mean)."""
    n_snps = packed.shape[0]
    size = int(min(n_snps, INIT_SNPS, max(INIT_VALUES // max(n_samples, 1), 50)))
    rows = np.sort(rng.choice(n_snps, size=size, replace=False))
    calls = unpack(np.asarray(packed[rows]), n_samples).T
    missing = calls < 0
    mean = np.where(missing, 0, calls).sum(axis=0) / np.maximum((~missing).sum(axis=0), 1)
    scale = np.sqrt(np.maximum(mean / 2 * (1 - mean / 2), 1e-3))
    centred = np.where(missing, 0.0, (calls - mean) / scale).astype(np.float32)
    del calls, missing
    U, S, _ = np.linalg.svd(centred, full_matrices=False)   # single precision: half the
    U, S = U.astype(float), S.astype(float)                 # memory, the same clusters
    scores = U[:, :max(n_components - 1, 1)] * S[:max(n_components - 1, 1)]
    return lloyd(scores, kmeans_plusplus(scores, n_components, rng))


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
                 frequencies=None, fold: Fold | None = None, init: str = "pca"):
        self.packed, self.n_samples, self.n_components = packed, n_samples, n_components
        self.init = init
        self.fixed = None if fixed is None or (np.asarray(fixed) < 0).all() else np.asarray(fixed)
        self.frequencies = frequencies
        self.fold = fold

    def __getstate__(self) -> dict:
        """Sent to Dask workers without the genotypes: each task brings its rows."""
        state = dict(self.__dict__)
        state["packed"] = None
        return state

    @property
    def n_snps(self) -> int:
        return self.packed.shape[0]

    def chunks(self) -> list:
        """In memory, one chunk (the kernels split it over threads); for a Dask array
        of .bed rows, one (first SNP, delayed rows) pair per block of rows."""
        if not is_dask(self.packed):
            return [SnpRows(0, self.packed)]
        starts = np.concatenate([[0], np.cumsum(self.packed.chunks[0])[:-1]])
        return [(int(first), block) for first, block in
                zip(starts, self.packed.rechunk({1: -1}).to_delayed().ravel())]

    # ------------------------------------------------------------------ starting point
    def initial_params(self, data, rng) -> AdmixtureParams:
        """Q from k-means on the top K - 1 principal components of a random subset of
        SNPs (each individual 0.9 in its cluster, the rest spread evenly; supervised
        rows fixed), F the A1 frequencies of the individuals weighted by Q.  Started
        from distinct clusters, EM reaches the maxima whose reference individuals are
        unadmixed, which a flat random start reaches only after many more iterations
        (measured on HapMap3, K = 3: 1,100 E-steps to fastmixture's maximum from here,
        none in 1,700 from a flat Dirichlet draw)."""
        if self.init == "random":
            Q = rng.dirichlet(np.ones(self.n_components), self.n_samples)
        else:
            clusters = pca_clusters(self.packed, self.n_samples, self.n_components, rng)
            if self.fixed is not None:   # clusters named after the labelled populations
                clusters = self._labelled_clusters(clusters)
            Q = (INIT_PURITY * one_hot(clusters, self.n_components)
                 + (1 - INIT_PURITY) / self.n_components)
        Q = self._with_fixed(bounded_proportions(Q))
        if self.frequencies is not None:
            return AdmixtureParams(Q, self.frequencies)
        q_t = np.ascontiguousarray(Q.T)
        F = np.empty((self.n_snps, self.n_components))
        for first, rows in blocks_in_memory(self.packed):
            map_chunks(lambda start, stop: weighted_frequencies(
                rows, self.n_samples, start, stop, q_t, F[first:first + rows.shape[0]]),
                rows.shape[0], SNP_CHUNK)
        return AdmixtureParams(Q, np.clip(F, BOUND, 1 - BOUND))

    def _labelled_clusters(self, clusters) -> np.ndarray:
        """The clusters renumbered so that each supervised component is the cluster
        holding most of its labelled individuals."""
        from scipy.optimize import linear_sum_assignment

        chosen = self.fixed >= 0
        table = np.zeros((self.n_components, self.n_components))
        np.add.at(table, (clusters[chosen], self.fixed[chosen]), 1)
        rows, columns = linear_sum_assignment(-table)
        renamed = np.empty(self.n_components, dtype=np.int64)
        renamed[rows] = columns
        return renamed[clusters]

    def _with_fixed(self, Q) -> np.ndarray:
        if self.fixed is not None:
            chosen = self.fixed >= 0
            Q[chosen] = BOUND
            Q[chosen, self.fixed[chosen]] = 1 - BOUND * (self.n_components - 1)
        return Q

    # --------------------------------------------------------------------- EM steps
    def e_step(self, params: AdmixtureParams, chunk) -> dict:
        """The statistics of one :class:`SnpRows` chunk (a Dask block arrives as a
        (first SNP, rows) pair): F rows of its SNPs only are read and written."""
        if not isinstance(chunk, SnpRows):
            chunk = SnpRows(*chunk)
        first, rows = chunk.first, np.ascontiguousarray(chunk.rows)
        count = rows.shape[0]
        n, k = self.n_samples, self.n_components
        q_t = np.ascontiguousarray(params.Q.T)
        F = np.ascontiguousarray(params.F[first:first + count])
        with_f = self.frequencies is None
        f_num = np.zeros((params.F.shape[0], k)) if with_f else np.zeros((0, k))
        f_den = np.zeros_like(f_num)
        block_num, block_den = f_num[first:first + count], f_den[first:first + count]
        fold = self.fold or Fold(0, 1, -1)

        def block(start, stop):
            q_num, observed = np.zeros((k, n)), np.zeros(n)
            loglik = admixture_statistics(rows, n, start, stop, first, q_t, F, fold.key,
                                          fold.n_folds, fold.index, with_f, q_num,
                                          observed, block_num, block_den)
            return q_num, observed, loglik

        q_num, observed, loglik = add_in_order(map_chunks(block, count, SNP_CHUNK))
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

    # ------------------------------------------------------------ acceleration
    # Extrapolation runs on log Q and logit F: near the optimum many proportions decay
    # geometrically towards the bound, and a geometric sequence is a straight line in
    # log space, which the accelerators extend in one step.
    def pack(self, params: AdmixtureParams) -> np.ndarray:
        log_q = np.log(params.Q).ravel()
        if self.frequencies is not None:
            return log_q
        F = params.F
        return np.concatenate([log_q, (np.log(F) - np.log1p(-F)).ravel()])

    def unpack(self, vector, like: AdmixtureParams) -> AdmixtureParams | None:
        if not np.all(np.isfinite(vector)):
            return None
        size = like.Q.size
        log_q = vector[:size].reshape(like.Q.shape)
        Q = np.exp(log_q - log_q.max(axis=1, keepdims=True))
        Q = self._with_fixed(bounded_proportions(Q / Q.sum(axis=1, keepdims=True)))
        if self.frequencies is not None:
            return AdmixtureParams(Q, like.F)
        logit = np.clip(vector[size:].reshape(like.F.shape), -50, 50)
        return AdmixtureParams(Q, np.clip(1 / (1 + np.exp(-logit)), BOUND, 1 - BOUND))

    # ------------------------------------------------------------ cross-validation
    def heldout_error(self, params: AdmixtureParams, fold: Fold) -> tuple:
        """(sum of deviance residuals, calls) over ``fold``'s held-out calls."""
        q_t = np.ascontiguousarray(params.Q.T)
        parts = []
        for first, rows in blocks_in_memory(self.packed):
            F = np.ascontiguousarray(params.F[first:first + rows.shape[0]])
            parts += map_chunks(lambda start, stop: heldout_deviance(
                rows, self.n_samples, start, stop, first, q_t, F, fold.key, fold.n_folds,
                fold.index), rows.shape[0], SNP_CHUNK)
        return add_in_order(parts)


@dataclass
class SnpRows:
    """A chunk of the E-step: consecutive .bed rows starting at SNP ``first``."""

    first: int
    rows: np.ndarray
