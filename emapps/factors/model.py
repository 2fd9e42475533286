"""Mixtures of factor analysers for the EM driver (one analyser is factor analysis).

Component k: x = mu_k + L_k z + e, z ~ N(0, I_q), e ~ N(0, diag(psi_k)), share w_k.  The
E-step is :func:`emapps.kernels.factor_analysis.factor_mixture_pass`; the M-step regresses
each column on E[(1, z) | k] over the rows that observed it, weighted by the
responsibilities (closed form), so missing entries are handled by full information.
"""

from dataclasses import dataclass

import numpy as np

from ..kernels.factor_analysis import factor_mixture_pass
from ..mixture.init import initial_responsibilities

#: noise variance floor, relative to each column's variance
NOISE_FLOOR = 1e-6


@dataclass
class FactorParams:
    weights: np.ndarray    # (K,)
    means: np.ndarray      # (K, D)
    loadings: np.ndarray   # (K, D, q)
    noise: np.ndarray      # (K, D) noise variances psi


@dataclass
class Rows:
    X: np.ndarray          # (N, D), NaN missing
    weight: np.ndarray     # (N,) or empty for unit weights


def principal_axes(X: np.ndarray, n_factors: int) -> tuple:
    """(mean, loadings, noise) of one analyser from the principal axes of the
    covariance of ``X`` with its gaps filled by the column means."""
    mean = np.nanmean(X, axis=0)
    filled = np.where(np.isnan(X), mean, X)
    covariance = np.atleast_2d(np.cov(filled, rowvar=False))
    values, vectors = np.linalg.eigh(covariance)
    rest = values[:-n_factors].mean() if values.shape[0] > n_factors else 0.0
    loadings = vectors[:, ::-1][:, :n_factors] * np.sqrt(
        np.maximum(values[::-1][:n_factors] - rest, 1e-6))
    noise = np.maximum(np.diag(covariance) - (loadings ** 2).sum(axis=1),
                       0.1 * np.diag(covariance))
    return mean, loadings, noise


class FactorMixtureEM:
    """The driver's model (emapps.em.protocol); SQUAREM steps on (log w, mu, L, log psi)."""

    def __init__(self, n_components: int, n_factors: int, spread: np.ndarray,
                 shared_noise: bool = False):
        self.n_components = n_components
        self.n_factors = n_factors
        self.floor = np.maximum(NOISE_FLOOR * spread, 1e-300)
        #: one noise variance per column for every analyser (Ghahramani & Hinton's MFA)
        self.shared_noise = shared_noise

    def _noise(self, noise: np.ndarray) -> np.ndarray:
        """Floored, and the same for every analyser when shared (geometric mean)."""
        noise = np.maximum(noise, self.floor)
        if self.shared_noise:
            noise = np.repeat(np.exp(np.log(noise).mean(axis=0))[None], noise.shape[0], axis=0)
        return noise

    def initial_params(self, data: Rows, rng) -> FactorParams:
        """One analyser: the principal axes, scaled by a random factor near 1 per start.
        Several: k-means clusters of the mean-filled rows, each with its principal axes."""
        X, K, q = data.X, self.n_components, self.n_factors
        if K == 1:
            mean, loadings, noise = principal_axes(X, q)
            loadings = loadings * np.exp(0.1 * rng.standard_normal(loadings.shape))
            return FactorParams(np.ones(1), mean[None], loadings[None],
                                np.maximum(noise, self.floor)[None])
        filled = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
        resp = initial_responsibilities(filled, K, "kmeans", rng)
        labels = resp.argmax(axis=1)
        parts = [principal_axes(filled[labels == k], q) if np.sum(labels == k) > q + 1
                 else principal_axes(filled, q) for k in range(K)]
        weights = np.maximum(np.bincount(labels, minlength=K), 1) / X.shape[0]
        return FactorParams(weights / weights.sum(), np.array([part[0] for part in parts]),
                            np.array([part[1] for part in parts]),
                            self._noise(np.array([part[2] for part in parts])))

    def e_step(self, params: FactorParams, chunk: Rows) -> dict:
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        nk, second, cross, squares, observed, loglik = factor_mixture_pass(
            chunk.X, chunk.weight, log_weights, np.ascontiguousarray(params.means),
            np.ascontiguousarray(params.loadings), np.ascontiguousarray(params.noise))
        weight = float(chunk.weight.sum()) if chunk.weight.size else float(chunk.X.shape[0])
        return {"loglik": loglik, "weight": weight, "nk": nk, "second": second,
                "cross": cross, "squares": squares, "observed": observed}

    def m_step(self, params: FactorParams, stats: dict) -> FactorParams:
        """Each (component, column) regressed on E[(1, z) | k] over the rows that observed
        the column; a component or column with no weight keeps its parameters."""
        second = stats["second"] + 1e-12 * np.eye(self.n_factors + 1)
        coefficients = np.linalg.solve(second, stats["cross"][..., None])[..., 0]
        residual = stats["squares"] - np.einsum("kda,kda->kd", coefficients, stats["cross"])
        observed = stats["observed"]
        seen = observed > 1e-10
        with np.errstate(invalid="ignore", divide="ignore"):
            noise = np.where(seen, residual / observed, params.noise)
            if self.shared_noise:   # pooled over the analysers
                pooled = residual.sum(axis=0) / observed.sum(axis=0)
                noise = np.repeat(np.where(observed.sum(axis=0) > 1e-10, pooled,
                                           params.noise[0])[None], noise.shape[0], axis=0)
        means = np.where(seen, coefficients[..., 0], params.means)
        loadings = np.where(seen[..., None], coefficients[..., 1:], params.loadings)
        return FactorParams(stats["nk"] / stats["nk"].sum(), means, loadings,
                            np.maximum(noise, self.floor))   # pooled noise is already equal

    def pack(self, params: FactorParams) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_weights = np.maximum(np.log(params.weights), -700.0)
        return np.concatenate([log_weights, params.means.ravel(), params.loadings.ravel(),
                               np.log(params.noise).ravel()])

    def unpack(self, vector: np.ndarray, like: FactorParams):
        if not np.all(np.isfinite(vector)):
            return None
        pieces = np.split(vector, np.cumsum([like.weights.size, like.means.size,
                                             like.loadings.size]))
        weights = np.exp(pieces[0] - pieces[0].max())
        return FactorParams(weights / weights.sum(), pieces[1].reshape(like.means.shape),
                            pieces[2].reshape(like.loadings.shape),
                            self._noise(np.exp(pieces[3].reshape(like.noise.shape))))
