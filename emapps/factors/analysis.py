"""``FactorAnalysis``: x = mu + L z + e with q latent factors, fitted by EM with missing
values (Rubin & Thayer 1982; the E-step is :mod:`emapps.kernels.factor_analysis`), as a
scikit-learn-style estimator with scikit-learn ``FactorAnalysis``'s names."""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import Estimator
from ..core.validation import check_matrix, check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.factor_analysis import factor_analysis_pass, factor_posteriors

#: noise variance floor, relative to each column's variance
NOISE_FLOOR = 1e-6


@dataclass
class FactorParams:
    mean: np.ndarray       # (D,)
    loadings: np.ndarray   # (D, q)
    noise: np.ndarray      # (D,) noise variances psi


@dataclass
class Rows:
    X: np.ndarray          # (N, D), NaN missing
    weight: np.ndarray     # (N,) or empty for unit weights


class FactorAnalysisEM:
    """The driver's model (emapps.em.protocol); SQUAREM steps on (mu, L, log psi)."""

    def __init__(self, n_factors: int, spread: np.ndarray):
        self.n_factors = n_factors
        self.floor = np.maximum(NOISE_FLOOR * spread, 1e-300)

    def initial_params(self, data: Rows, rng) -> FactorParams:
        """Principal axes of the covariance of the mean-filled data (a random rotation of
        them for starts after the first would change nothing: the likelihood is
        rotation-invariant; ``rng`` perturbs them instead)."""
        X = data.X
        mean = np.nanmean(X, axis=0)
        filled = np.where(np.isnan(X), mean, X)
        covariance = np.atleast_2d(np.cov(filled, rowvar=False))
        values, vectors = np.linalg.eigh(covariance)
        q = self.n_factors
        rest = values[:-q].mean() if values.shape[0] > q else 0.0
        loadings = vectors[:, ::-1][:, :q] * np.sqrt(np.maximum(values[::-1][:q] - rest, 1e-6))
        loadings = loadings * np.exp(0.1 * rng.standard_normal(loadings.shape))
        noise = np.maximum(np.diag(covariance) - (loadings ** 2).sum(axis=1),
                           0.1 * np.diag(covariance))
        return FactorParams(mean, loadings, np.maximum(noise, self.floor))

    def e_step(self, params: FactorParams, chunk: Rows) -> dict:
        second, cross, squares, observed, loglik = factor_analysis_pass(
            chunk.X, chunk.weight, params.mean, np.ascontiguousarray(params.loadings),
            params.noise)
        weight = float(chunk.weight.sum()) if chunk.weight.size else float(chunk.X.shape[0])
        return {"loglik": loglik, "weight": weight, "second": second, "cross": cross,
                "squares": squares, "observed": observed}

    def m_step(self, params: FactorParams, stats: dict) -> FactorParams:
        """Each column regressed on E[(1, z)] over the rows that observed it."""
        coefficients = np.linalg.solve(stats["second"], stats["cross"][:, :, None])[:, :, 0]
        residual = stats["squares"] - np.einsum("da,da->d", coefficients, stats["cross"])
        noise = np.maximum(residual / stats["observed"], self.floor)
        return FactorParams(coefficients[:, 0], coefficients[:, 1:], noise)

    def pack(self, params: FactorParams) -> np.ndarray:
        return np.concatenate([params.mean, params.loadings.ravel(), np.log(params.noise)])

    def unpack(self, vector: np.ndarray, like: FactorParams):
        if not np.all(np.isfinite(vector)):
            return None
        D = like.mean.shape[0]
        return FactorParams(vector[:D], vector[D:-D].reshape(like.loadings.shape),
                            np.maximum(np.exp(vector[-D:]), self.floor))


class FactorAnalysis(Estimator):
    """Factor analysis by EM, with missing values (NaN) handled by full information.

    Fitted attributes follow scikit-learn's ``FactorAnalysis``: ``components_`` (q, D),
    ``noise_variance_`` (D,), ``mean_`` (D,), plus ``loglik_`` and ``n_iter_``; on
    complete data the maximum is scikit-learn's.  ``transform`` gives E[z | observed
    entries]; ``impute`` fills missing entries with their conditional means.
    """

    _estimator_type = "transformer"
    _fitted_attribute = "components_"
    _input_tags = {"allow_nan": True, "two_d_array": True}

    def __init__(self, n_components=1, *, n_init=1, max_iter=10000, tol=1e-12,
                 accelerate="squarem", random_state=None, verbose=0):
        self.n_components = n_components
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.accelerate = accelerate
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None, sample_weight=None):
        """Estimate mean, loadings and noise variances from X (rows x columns, NaN
        missing); stops when the log-likelihood changes by less than ``tol`` relative."""
        X = check_matrix(X, allow_nan=True, min_rows=2)
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter")
        if self.n_components >= X.shape[1]:
            raise UserInputError(f"n_components must be smaller than the {X.shape[1]} "
                                 f"columns; got {self.n_components}")
        observed = (~np.isnan(X)).sum(axis=0)
        if np.any(observed < 2):
            raise UserInputError(f"column(s) {', '.join(map(str, np.flatnonzero(observed < 2)))}"
                                 f" have fewer than 2 observed values")
        weight = np.zeros(0) if sample_weight is None else np.asarray(sample_weight, float)
        if weight.size and (weight.shape != (X.shape[0],) or np.any(weight < 0)):
            raise UserInputError(f"sample_weight must be {X.shape[0]} non-negative numbers")
        with np.errstate(invalid="ignore"):
            spread = np.nanvar(X, axis=0)
        model = FactorAnalysisEM(self.n_components, spread)
        self.result_ = fit_em(model, Rows(np.ascontiguousarray(X, dtype=np.float64), weight),
                              n_init=self.n_init, seed=self._seed_sequence(),
                              max_iter=self.max_iter, tol=self.tol, tol_on="relative",
                              accelerate=self.accelerate, verbose=bool(self.verbose))
        params = self.result_.params
        self.params_ = params
        self.mean_ = params.mean
        self.components_ = params.loadings.T.copy()
        self.noise_variance_ = params.noise
        self.loglik_ = float(self.result_.loglik)
        self.n_iter_ = self.result_.n_iter
        self.converged_ = bool(self.result_.converged)
        self.trace_ = list(self.result_.trace)
        self.n_features_in_ = X.shape[1]
        self.seed_ = self.result_.seed
        return self

    @property
    def n_parameters_(self) -> int:
        """D means, D noise variances and D q - q (q - 1) / 2 loadings (up to rotation)."""
        self._check_fitted()
        D, q = self.n_features_in_, self.n_components
        return int(2 * D + D * q - q * (q - 1) // 2)

    def _posteriors(self, X):
        self._check_fitted()
        X = check_matrix(X, allow_nan=True)
        if X.shape[1] != self.n_features_in_:
            raise UserInputError(f"X has {X.shape[1]} columns; the model was fitted on "
                                 f"{self.n_features_in_}")
        return factor_posteriors(np.ascontiguousarray(X, dtype=np.float64), self.mean_,
                                 np.ascontiguousarray(self.params_.loadings),
                                 self.noise_variance_)

    def transform(self, X) -> np.ndarray:
        """E[z | observed entries] of each row, (rows, q)."""
        return self._posteriors(X)[0]

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def score_samples(self, X) -> np.ndarray:
        """log p(observed entries) of each row."""
        return self._posteriors(X)[1]

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per row (scikit-learn's ``score``)."""
        return float(np.mean(self.score_samples(X)))

    def get_covariance(self) -> np.ndarray:
        """L L^T + diag(psi), (D, D)."""
        self._check_fitted()
        return self.components_.T @ self.components_ + np.diag(self.noise_variance_)

    def impute(self, X) -> np.ndarray:
        """X with each missing entry replaced by mu_d + l_d . E[z | observed entries]."""
        X = check_matrix(X, allow_nan=True)
        filled = self.mean_ + self.transform(X) @ self.components_
        return np.where(np.isnan(X), filled, X)
