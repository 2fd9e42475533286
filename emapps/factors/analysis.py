"""``FactorAnalysis`` and ``MixtureOfFactorAnalysers``: x = mu + L z + e with q latent
factors (within each of K components), fitted by EM with missing values (see
:mod:`emapps.factors.model`), as scikit-learn-style estimators; ``FactorAnalysis`` uses
scikit-learn ``FactorAnalysis``'s names."""

import numpy as np

from ..core.estimator import Estimator
from ..core.validation import check_matrix, check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.factor_analysis import factor_posteriors
from .model import FactorMixtureEM, Rows


class _FactorModel(Estimator):
    """What both estimators share: checks, the fit through the driver, posteriors."""

    _input_tags = {"allow_nan": True, "two_d_array": True}

    def _fit(self, X, sample_weight, n_components: int, n_factors: int,
             shared_noise: bool = False):
        X = check_matrix(X, allow_nan=True, min_rows=2)
        for value, name in ((self.n_init, "n_init"), (self.max_iter, "max_iter")):
            check_positive_int(value, name)
        if n_factors >= X.shape[1]:
            raise UserInputError(f"the number of factors must be smaller than the "
                                 f"{X.shape[1]} columns; got {n_factors}")
        if n_components > X.shape[0]:
            raise UserInputError(f"{n_components} components for {X.shape[0]} rows")
        observed = (~np.isnan(X)).sum(axis=0)
        if np.any(observed < 2):
            raise UserInputError(f"column(s) {', '.join(map(str, np.flatnonzero(observed < 2)))}"
                                 f" have fewer than 2 observed values")
        weight = np.zeros(0) if sample_weight is None else np.asarray(sample_weight, float)
        if weight.size and (weight.shape != (X.shape[0],) or np.any(weight < 0)):
            raise UserInputError(f"sample_weight must be {X.shape[0]} non-negative numbers")
        with np.errstate(invalid="ignore"):
            spread = np.nanvar(X, axis=0)
        model = FactorMixtureEM(n_components, n_factors, spread, shared_noise)
        self.result_ = fit_em(model, Rows(np.ascontiguousarray(X, dtype=np.float64), weight),
                              n_init=self.n_init, seed=self._seed_sequence(),
                              max_iter=self.max_iter, tol=self.tol, tol_on="relative",
                              accelerate=self.accelerate, verbose=bool(self.verbose))
        self.params_ = self.result_.params
        self.loglik_ = float(self.result_.loglik)
        self.n_iter_ = self.result_.n_iter
        self.converged_ = bool(self.result_.converged)
        self.trace_ = list(self.result_.trace)
        self.n_features_in_ = X.shape[1]
        self.n_observations_ = float(weight.sum()) if weight.size else float(X.shape[0])
        self.seed_ = self.result_.seed
        return self

    def _posteriors(self, X):
        self._check_fitted()
        X = check_matrix(X, allow_nan=True)
        if X.shape[1] != self.n_features_in_:
            raise UserInputError(f"X has {X.shape[1]} columns; the model was fitted on "
                                 f"{self.n_features_in_}")
        params = self.params_
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        return factor_posteriors(np.ascontiguousarray(X, dtype=np.float64), log_weights,
                                 np.ascontiguousarray(params.means),
                                 np.ascontiguousarray(params.loadings),
                                 np.ascontiguousarray(params.noise))

    def score_samples(self, X) -> np.ndarray:
        """log p(observed entries) of each row."""
        return self._posteriors(X)[2]

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per row (scikit-learn's ``score``)."""
        return float(np.mean(self.score_samples(X)))

    def _n_parameters(self, n_components, n_factors, shared_noise=False) -> int:
        D, q = self.n_features_in_, n_factors
        noise = D if shared_noise else n_components * D
        return int(n_components - 1 + noise
                   + n_components * (D + D * q - q * (q - 1) // 2))

    def bic(self, X) -> float:
        """-2 log L(X) + p log N (lower is better)."""
        rows = check_matrix(X, allow_nan=True).shape[0]
        return -2.0 * self.score(X) * rows + self.n_parameters_ * np.log(rows)


class FactorAnalysis(_FactorModel):
    """Factor analysis by EM, with missing values (NaN) handled by full information
    (Rubin & Thayer 1982).

    Fitted attributes follow scikit-learn's ``FactorAnalysis``: ``components_`` (q, D),
    ``noise_variance_`` (D,), ``mean_`` (D,), plus ``loglik_`` and ``n_iter_``; on
    complete data the maximum is scikit-learn's.  ``transform`` gives E[z | observed
    entries]; ``impute`` fills missing entries with their conditional means.  EM stops
    when the log-likelihood changes by less than ``tol`` relative to its value.
    """

    _estimator_type = "transformer"
    _fitted_attribute = "components_"

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
        missing)."""
        check_positive_int(self.n_components, "n_components")
        self._fit(X, sample_weight, 1, self.n_components)
        self.mean_ = self.params_.means[0]
        self.components_ = self.params_.loadings[0].T.copy()
        self.noise_variance_ = self.params_.noise[0]
        return self

    @property
    def n_parameters_(self) -> int:
        """D means, D noise variances and D q - q (q - 1) / 2 loadings (up to rotation)."""
        self._check_fitted()
        return self._n_parameters(1, self.n_components)

    def transform(self, X) -> np.ndarray:
        """E[z | observed entries] of each row, (rows, q)."""
        return self._posteriors(X)[1]

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def get_covariance(self) -> np.ndarray:
        """L L^T + diag(psi), (D, D)."""
        self._check_fitted()
        return self.components_.T @ self.components_ + np.diag(self.noise_variance_)

    def impute(self, X) -> np.ndarray:
        """X with each missing entry replaced by mu_d + l_d . E[z | observed entries]."""
        X = check_matrix(X, allow_nan=True)
        filled = self.mean_ + self.transform(X) @ self.components_
        return np.where(np.isnan(X), filled, X)


class MixtureOfFactorAnalysers(_FactorModel):
    """K Gaussian components whose covariances are L_k L_k^T + diag(psi_k) with
    ``n_factors`` factors each (Ghahramani & Hinton 1996): clustering in many dimensions
    with few parameters per component.  Missing entries (NaN) are handled by full
    information.  Starts: k-means clusters of the mean-filled rows, each with its
    principal axes; ``n_init`` seeded starts, the best kept.

    ``noise="shared"`` gives every analyser the same noise variances (Ghahramani &
    Hinton's model, fewer parameters); ``"component"`` (default) one set each.

    Fitted: ``weights_`` (K,), ``means_`` (K, D), ``loadings_`` (K, D, q),
    ``noise_variance_`` (K, D), ``loglik_``.
    """

    _estimator_type = "clusterer"
    _fitted_attribute = "weights_"

    def __init__(self, n_components=1, *, n_factors=1, noise="component", n_init=3,
                 max_iter=5000, tol=1e-10, accelerate="squarem", random_state=None, verbose=0):
        self.n_components = n_components
        self.n_factors = n_factors
        self.noise = noise
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.accelerate = accelerate
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None, sample_weight=None):
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.n_factors, "n_factors")
        if self.noise not in ("component", "shared"):
            raise UserInputError(f"noise must be 'component' or 'shared'; got {self.noise!r}")
        self._fit(X, sample_weight, self.n_components, self.n_factors,
                  self.noise == "shared")
        order = np.argsort(-self.params_.weights, kind="stable")
        params = self.params_
        self.params_ = type(params)(params.weights[order], params.means[order],
                                    params.loadings[order], params.noise[order])
        self.weights_ = self.params_.weights
        self.means_ = self.params_.means
        self.loadings_ = self.params_.loadings
        self.noise_variance_ = self.params_.noise
        return self

    @property
    def n_parameters_(self) -> int:
        """(K - 1) shares, D noise variances per component (or once, shared) and, per
        component, D means and D q - q (q - 1) / 2 loadings."""
        self._check_fitted()
        return self._n_parameters(self.n_components, self.n_factors, self.noise == "shared")

    def predict_proba(self, X) -> np.ndarray:
        """p(component | observed entries), (rows, K)."""
        return self._posteriors(X)[0]

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)

    def covariances(self) -> np.ndarray:
        """L_k L_k^T + diag(psi_k), (K, D, D)."""
        self._check_fitted()
        return (np.einsum("kdq,keq->kde", self.loadings_, self.loadings_)
                + np.stack([np.diag(noise) for noise in self.noise_variance_]))

    def criteria(self, X) -> dict:
        """log L, parameters, BIC, AIC and ICL (BIC - 2 sum_n log max_k p(k | x_n)), lower
        is better, under the names :class:`emapps.mixture.GaussianMixture` uses."""
        resp, _, log_density = self._posteriors(X)
        loglik, n_params = float(log_density.sum()), self.n_parameters_
        bic = -2 * loglik + n_params * np.log(resp.shape[0])
        return {"loglik": loglik, "n_params": n_params, "bic": bic,
                "aic": -2 * loglik + 2 * n_params,
                "icl": bic - 2 * float(np.log(np.maximum(resp.max(axis=1), 1e-300)).sum())}

    def as_gaussian_mixture(self):
        """The same densities as a fitted full-covariance
        :class:`emapps.mixture.GaussianMixture` (to save, predict or impute with)."""
        from ..mixture import GaussianMixture
        from ..mixture.params import GaussianParams

        mixture = GaussianMixture(self.n_components, covariance_type="full")
        mixture.set_fitted_params(GaussianParams.from_covariances(
            self.weights_, self.means_, self.covariances(), "full"))
        mixture.seed_ = self.seed_
        return mixture
