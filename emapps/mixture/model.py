"""The Gaussian mixture as an EM model for the generic driver.

E-step: one fused kernel pass giving N_k, S_k, Q_k (centred on the current means)
and sum_n w_n log sum_k pi_k N(x_n | mu_k, Sigma_k).
M-step: pi_k = N_k / sum N, mu_k += S_k / N_k, Sigma_k from Q_k (see covariance.py).
"""

import numpy as np

from .covariance import covariances_from_stats, kernel_precisions
from .params import GaussianParams

CHUNK_ROWS = 8192
#: scikit-learn adds 10 machine epsilons to N_k so that empty components stay finite.
NK_FLOOR = 10 * np.finfo(np.float64).eps


class GaussianMixtureEM:
    """EM model over chunks ``(X, sample_weight)``; ``sample_weight`` may be empty."""

    def __init__(self, covariance_type: str, reg_covar: float, initializer=None):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.initializer = initializer

    def initial_params(self, data, rng):
        return self.initializer(data, rng)

    def e_step(self, params: GaussianParams, chunk) -> dict:
        from ..kernels.gaussian import gaussian_pass_diag, gaussian_pass_full

        X, sample_weight = chunk
        K, D = params.n_components, params.n_features
        prec = kernel_precisions(params.precisions_cholesky, self.covariance_type, K, D)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        means = np.ascontiguousarray(params.means, dtype=np.float64)
        run = gaussian_pass_full if self.covariance_type in ("full", "tied") else gaussian_pass_diag
        nk, sx, sxx, loglik = run(X, sample_weight, log_weights, means, prec, CHUNK_ROWS)
        weight = float(sample_weight.sum()) if sample_weight.size else float(X.shape[0])
        return {"nk": nk, "sx": sx, "sxx": sxx, "loglik": float(loglik), "weight": weight}

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
