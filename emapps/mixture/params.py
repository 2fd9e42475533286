"""Gaussian mixture parameters and their flat (SQUAREM) parametrisation."""

from dataclasses import dataclass

import numpy as np

from .covariance import (covariances_from_precision_cholesky, kernel_precisions,
                         pack_covariances, precision_cholesky, unpack_covariances)
from ..errors import DegenerateModelError


@dataclass(frozen=True)
class GaussianParams:
    """weights (K,), means (K, D), covariances and their precision Cholesky factors."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    covariance_type: str

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    @classmethod
    def from_covariances(cls, weights, means, covariances, covariance_type):
        prec = precision_cholesky(covariances, covariance_type)
        return cls(weights, means, covariances, prec, covariance_type)

    @classmethod
    def from_precisions_cholesky(cls, weights, means, prec_chol, covariance_type):
        cov = covariances_from_precision_cholesky(prec_chol, covariance_type)
        return cls(weights, means, cov, prec_chol, covariance_type)

    @property
    def full(self) -> bool:
        """Whether the kernels take triangular (full, tied) or diagonal precisions."""
        return self.covariance_type in ("full", "tied")

    def kernel_arguments(self):
        """(log weights, means, precisions) in the layouts the Gaussian kernels take."""
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights)
        precisions = kernel_precisions(self.precisions_cholesky, self.covariance_type,
                                       self.n_components, self.n_features)
        return log_weights, np.ascontiguousarray(self.means, dtype=np.float64), precisions

    def pack(self) -> np.ndarray:
        """[log w, means, Cholesky factors with log diagonal | log variances]."""
        return np.concatenate([np.log(self.weights), self.means.ravel(),
                               pack_covariances(self.covariances, self.covariance_type)])

    def unpack(self, vector: np.ndarray):
        """Parameters of the same shape from a packed vector; None if not a valid model."""
        if not np.all(np.isfinite(vector)):
            return None
        n_components, n_features = self.n_components, self.n_features
        log_weights = vector[:n_components]
        weights = np.exp(log_weights - log_weights.max())
        weights /= weights.sum()
        means = vector[n_components:n_components + n_components * n_features]
        means = means.reshape(n_components, n_features)
        rest = vector[n_components + n_components * n_features:]
        with np.errstate(over="ignore", invalid="ignore"):
            covariances = unpack_covariances(rest, self.covariance_type, n_components, n_features)
        try:
            return GaussianParams.from_covariances(weights, means, covariances, self.covariance_type)
        except DegenerateModelError:
            return None
