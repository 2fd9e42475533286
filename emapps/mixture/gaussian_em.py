"""The Gaussian mixture as an EM model for the generic driver.

E-step: one fused kernel pass giving N_k, S_k, Q_k (centred on the current means)
and sum_n w_n log sum_k pi_k N(x_n | mu_k, Sigma_k).
M-step: pi_k = N_k / sum N, mu_k += S_k / N_k, Sigma_k from Q_k (see covariance.py).
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .covariance import covariances_from_stats
from .missing import Pattern, full_covariances, pattern_stats, split_patterns
from .params import GaussianParams

#: scikit-learn adds 10 machine epsilons to N_k so that empty components stay finite.
NK_FLOOR = 10 * np.finfo(np.float64).eps


@dataclass(frozen=True)
class MixtureData:
    """Rows prepared once for EM: complete rows for the fused kernel, the rest by pattern.

    ``sample_weight`` is empty for unit weights.
    """

    X: np.ndarray
    sample_weight: np.ndarray
    complete: np.ndarray
    complete_weight: np.ndarray
    patterns: tuple[Pattern, ...]

    @cached_property
    def complete_columns(self) -> np.ndarray:
        """The complete rows feature-major, as the fused passes read them; made on first
        use and kept for the fit's later iterations."""
        from ..kernels.gaussian import feature_columns
        return feature_columns(self.complete)

    @classmethod
    def build(cls, X, sample_weight=np.empty(0)) -> "MixtureData":
        complete_rows, patterns = split_patterns(X)
        if not patterns:
            return cls(X, sample_weight, X, sample_weight, ())
        weight = sample_weight[complete_rows] if sample_weight.size else sample_weight
        return cls(X, sample_weight, np.ascontiguousarray(X[complete_rows]), weight,
                   tuple(patterns))

    @property
    def weight(self) -> float:
        return float(self.sample_weight.sum()) if self.sample_weight.size else float(len(self.X))

    def split(self, n_chunks: int) -> list["MixtureData"]:
        """Row-range chunks for a parallel or distributed ``map``."""
        bounds = np.linspace(0, len(self.X), n_chunks + 1).astype(int)
        return [MixtureData.build(self.X[a:b],
                                  self.sample_weight[a:b] if self.sample_weight.size else
                                  self.sample_weight)
                for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class GaussianMixtureEM:
    """EM model over :class:`MixtureData` chunks."""

    def __init__(self, covariance_type: str, reg_covar: float, initializer=None):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.initializer = initializer

    def initial_params(self, data, rng):
        return self.initializer(data, rng)

    def e_step(self, params: GaussianParams, chunk: MixtureData) -> dict:
        from ..kernels.gaussian import gaussian_pass_diag, gaussian_pass_full

        full = params.full
        run = gaussian_pass_full if full else gaussian_pass_diag
        nk, sx, sxx, loglik, classification = run(chunk.complete_columns,
                                                  chunk.complete_weight,
                                                  *params.kernel_arguments())
        stats = {"nk": nk, "sx": sx, "sxx": sxx, "loglik": float(loglik),
                 "classification": float(classification)}
        if chunk.patterns:
            covariances = full_covariances(params)
            for pattern in chunk.patterns:
                weights = (chunk.sample_weight[pattern.rows] if chunk.sample_weight.size
                           else chunk.sample_weight)
                part = pattern_stats(params, covariances, chunk.X[pattern.rows], weights,
                                     pattern, full)
                for key in stats:
                    stats[key] = stats[key] + part[key]
        stats["weight"] = chunk.weight
        return stats

    def m_step(self, params: GaussianParams, stats: dict) -> GaussianParams:
        return self.params_from_stats(params.means, stats)

    def params_from_stats(self, shift, stats) -> GaussianParams:
        """Parameters from statistics centred on ``shift`` (K, D)."""
        nk = stats["nk"] + NK_FLOOR
        means = shift + stats["sx"] / nk[:, None]
        covariances = covariances_from_stats(nk, stats["sx"], stats["sxx"],
                                             self.covariance_type, self.reg_covar)
        return GaussianParams.from_covariances(nk / nk.sum(), means, covariances,
                                               self.covariance_type)

    def pack(self, params: GaussianParams) -> np.ndarray:
        return params.pack()

    def unpack(self, vector, like: GaussianParams):
        return like.unpack(vector)
