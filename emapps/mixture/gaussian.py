"""``GaussianMixture``: a scikit-learn compatible estimator on the emapps EM driver."""

import warnings

import numpy as np

from ..core.estimator import Estimator, seed_sequence
from ..core.validation import (check_choice, check_matrix, check_positive_int,
                               check_sample_weight)
from ..em import fit_em
from ..errors import UserInputError
from .covariance import (COVARIANCE_TYPES, MOMENT_ROWS, n_covariance_parameters,
                         responsibility_moments)
from .gaussian_em import GaussianMixtureEM, MixtureData
from .init import INIT_METHODS, initial_responsibilities
from .missing import conditional_means, full_covariances, marginal, pattern_log_joint, split_patterns
from .params import GaussianParams

#: rows sampled (seeded) to initialise a fit of a Dask array
INIT_ROWS = 100_000


class GaussianMixture(Estimator):
    """Gaussian mixture fitted by EM: p(x) = sum_k w_k N(x | mu_k, Sigma_k).

    Parameter and attribute names follow ``sklearn.mixture.GaussianMixture``;
    ``lower_bound_`` is the mean log-likelihood per sample (weight) before the last
    M-step, ``lower_bounds_`` its trace.  Beyond scikit-learn: ``sample_weight``,
    float32 input, missing values (NaN), SQUAREM acceleration (``accelerate='squarem'``),
    online EM (``partial_fit``, step (t + learning_offset)^-learning_decay), bootstrap
    standard errors, ICL and a run record.

    Defaults differ from scikit-learn's where its stop comes before the optimum: ``tol``
    1e-6 (not 1e-3) and ``max_iter`` 500 (not 100), with SQUAREM on (``accelerate=None``
    runs plain EM); the command line has the same defaults.

    >>> import numpy as np
    >>> X = np.r_[np.zeros((50, 1)), np.full((50, 1), 10.0)] + np.linspace(-1, 1, 100)[:, None]
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> np.sort(gm.means_.ravel()).round(2), gm.weights_.round(2)
    (array([-0.51, 10.51]), array([0.5, 0.5]))
    >>> bool(gm.predict([[0.0]])[0] != gm.predict([[9.0]])[0])
    True
    """

    _estimator_type = "density_estimator"
    _fitted_attribute = "params_"
    _input_tags = {"allow_nan": True, "two_d_array": True}

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-6, reg_covar=1e-6,
                 max_iter=500, n_init=1, init_params="kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False,
                 accelerate="squarem", learning_decay=0.7, learning_offset=10.0, verbose=0):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.accelerate = accelerate
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.verbose = verbose

    # -- fitting ---------------------------------------------------------------------
    def _check_settings(self, n_rows):
        check_positive_int(self.n_components, "n_components")
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_choice(self.init_params, "init_params", INIT_METHODS)
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter", minimum=0)
        check_choice(self.accelerate, "accelerate", (None, "squarem"))
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise UserInputError(f"tol must be a number >= 0, got {self.tol!r}")
        if not (isinstance(self.reg_covar, (int, float)) and self.reg_covar >= 0):
            raise UserInputError(f"reg_covar must be a number >= 0, got {self.reg_covar!r}")
        if self.n_components > n_rows:
            raise UserInputError(f"n_components={self.n_components} is larger than the number "
                                 f"of rows ({n_rows}); use at most {n_rows} components")

    def _check_scale(self, X) -> None:
        """Warn when reg_covar is not small against the data's variances: it would then
        swamp them and the fit merge components (data measured in tiny units)."""
        if X.shape[0] < 2 or not self.reg_covar:
            return
        with np.errstate(all="ignore"):
            smallest = float(np.nanmin(np.nanvar(X, axis=0)))
        if 0 < smallest < 1e3 * self.reg_covar:
            warnings.warn(f"reg_covar {self.reg_covar:g} is not small against the smallest "
                          f"variance of the data ({smallest:.3g}): components may merge; "
                          f"rescale the data or lower reg_covar (--reg-covar)", UserWarning,
                          stacklevel=3)

    def _model(self):
        return GaussianMixtureEM(self.covariance_type, self.reg_covar, self._initialize)

    def _params_from_resp(self, X, resp, sample_weight):
        """M-step from given responsibilities (initialisation)."""
        if sample_weight.size:
            resp = resp * sample_weight[:, None]
        centre = np.average(X, axis=0, weights=sample_weight if sample_weight.size else None)
        shift = np.ascontiguousarray(np.broadcast_to(centre, (resp.shape[1], X.shape[1])),
                                     dtype=np.float64)
        full = self.covariance_type in ("full", "tied")
        if X.shape[0] <= MOMENT_ROWS:  # numpy is quick here, and no kernel compiles
            nk, sx, sxx = responsibility_moments(X, resp, shift, full)
        else:
            from ..kernels.gaussian import weighted_moments

            nk, sx, sxx = weighted_moments(np.ascontiguousarray(X, dtype=np.float64),
                                           np.ascontiguousarray(resp), shift, full)
        return self._model().params_from_stats(shift, {"nk": nk, "sx": sx, "sxx": sxx})

    def _user_init(self, n_features):
        """Parameters given by weights_init/means_init/precisions_init (None where absent)."""
        K, D = self.n_components, n_features
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
            if weights.shape != (K,) or np.any(weights < 0) or not np.isclose(weights.sum(), 1):
                raise UserInputError(f"weights_init must be {K} non-negative numbers summing to 1")
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
            if means.shape != (K, D):
                raise UserInputError(f"means_init has shape {means.shape}, expected {(K, D)}")
        if self.precisions_init is not None:
            precisions = np.asarray(self.precisions_init, dtype=np.float64)
            expected = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}
            if precisions.shape != expected[self.covariance_type]:
                raise UserInputError(f"precisions_init has shape {precisions.shape}, expected "
                                     f"{expected[self.covariance_type]} for "
                                     f"covariance_type={self.covariance_type!r}")
        return weights, means, precisions

    def _initialize(self, data: MixtureData, rng) -> GaussianParams:
        X, sample_weight = data.X, data.sample_weight
        weights, means, precisions = self._user_init(X.shape[1])
        if weights is not None and means is not None and precisions is not None:
            return _params_from_precisions(weights, means, precisions, self.covariance_type)
        if data.patterns:  # start from column means in the gaps; EM then does it properly
            X = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
        resp = initial_responsibilities(X, self.n_components, self.init_params, rng,
                                        sample_weight if sample_weight.size else None)
        params = self._params_from_resp(X, resp, sample_weight)
        weights = params.weights if weights is None else weights
        means = params.means if means is None else means
        if precisions is None:
            return GaussianParams(weights, means, params.covariances,
                                  params.precisions_cholesky, self.covariance_type)
        return _params_from_precisions(weights, means, precisions, self.covariance_type)

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM (best of ``n_init`` restarts).

        NaN entries are missing values: the E-step marginalises them and the M-step
        uses their conditional expectations.  A Dask array (e.g. ``dask.array.from_zarr``)
        is fitted block by block on Dask's scheduler (a ``distributed.Client`` when one
        is active); a restart is initialised on a seeded sample of ``INIT_ROWS`` rows (on
        all rows, as in memory, when there are no more).
        """
        if _is_dask(X):
            return self._fit_blocks(X, sample_weight)
        X = check_matrix(X, allow_nan=True)
        self._check_settings(X.shape[0])
        self._check_scale(X)
        weight = check_sample_weight(sample_weight, X.shape[0])
        warm = self.warm_start and hasattr(self, "params_")
        self.result_ = fit_em(
            self._model(), MixtureData.build(X, weight), n_init=1 if warm else self.n_init,
            seed=self._seed_sequence(), max_iter=self.max_iter, tol=self.tol, tol_on="mean",
            accelerate=self.accelerate, init_params=self.params_ if warm else None,
            verbose=bool(self.verbose))
        self._set_fitted(self.result_.params)
        return self

    def _fit_blocks(self, X, sample_weight):
        from ..em.dask import DaskMap, row_blocks

        if sample_weight is not None:
            raise UserInputError("sample_weight is not supported for a Dask array")
        if X.ndim != 2:
            raise UserInputError(f"X must be 2-D, got {X.ndim} dimensions")
        self._check_settings(X.shape[0])
        warm = self.warm_start and hasattr(self, "params_")

        def start(rng):  # all rows (as fit does in memory) up to INIT_ROWS, else a sample
            if X.shape[0] <= INIT_ROWS:
                return self._initialize(_prepared_block(X.compute()), rng)
            rows = np.sort(rng.choice(X.shape[0], INIT_ROWS, replace=False))
            return self._initialize(_prepared_block(X[rows].compute()), rng)

        self.result_ = fit_em(
            self._model(), None, chunks=row_blocks(X), n_init=1 if warm else self.n_init,
            seed=self._seed_sequence(), max_iter=self.max_iter, tol=self.tol, tol_on="mean",
            accelerate=self.accelerate, init_params=self.params_ if warm else start,
            map_fn=DaskMap(prepare=_prepared_block), verbose=bool(self.verbose))
        self._set_fitted(self.result_.params)
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One online-EM step on a batch (Cappe & Moulines 2009); the first batch also
        initialises the model and must have at least ``n_components`` rows."""
        from .online import online_step

        X = check_matrix(X, allow_nan=True)
        weight = check_sample_weight(sample_weight, X.shape[0])
        if not 0.5 < self.learning_decay <= 1.0:
            raise UserInputError(f"learning_decay must be in (0.5, 1], got {self.learning_decay}")
        data = MixtureData.build(X, weight)
        model = self._model()
        state = getattr(self, "_online_state", None)
        if state is None:
            self._check_settings(X.shape[0])
            sequence = self._seed_sequence()
            params = self._initialize(data, np.random.default_rng(sequence))
            self.seed_ = sequence.entropy
            self.lower_bounds_ = []
        else:
            params = self.params_
            if X.shape[1] != params.n_features:
                raise UserInputError(f"X has {X.shape[1]} features, but GaussianMixture is "
                                     f"expecting {params.n_features} features as input")
        params, self._online_state, loglik, total = online_step(
            model, params, state, data, self.learning_decay, self.learning_offset)
        self.set_fitted_params(params)
        self.lower_bounds_.append(loglik / total)
        self.lower_bound_ = self.lower_bounds_[-1]
        self.n_iter_ = self._online_state.n_batches
        self.converged_ = False
        return self

    def bootstrap(self, X, n_boot=100, random_state=None, sample_weight=None):
        """Bootstrap standard errors of weights, means and covariances (refits from the
        fitted parameters on ``n_boot`` resamples; components aligned to the fit)."""
        from .bootstrap import bootstrap

        self._check_fitted()
        X = check_matrix(X, allow_nan=True)
        check_positive_int(n_boot, "n_boot", minimum=2)
        return bootstrap(self, X, n_boot, seed_sequence(random_state), sample_weight,
                         self.max_iter, self.tol)

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def _set_fitted(self, params: GaussianParams):
        self.set_fitted_params(params)
        result = self.result_
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bounds_ = [value / result.weight for value in result.trace]
        self.lower_bound_ = self.lower_bounds_[-1] if self.lower_bounds_ else -np.inf
        self.seed_ = result.seed

    def set_fitted_params(self, params: GaussianParams):
        """Use ``params`` as the fitted model (e.g. parameters loaded from a file)."""
        self.params_ = params
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = _precisions(params)
        self.n_features_in_ = params.n_features
        return self

    # -- using a fitted model --------------------------------------------------------
    def _log_joint(self, X):
        """(N, K) log w_k + log N(x_n | mu_k, Sigma_k), marginal over NaN coordinates."""
        from ..kernels.gaussian import gaussian_log_joint_diag, gaussian_log_joint_full

        self._check_fitted()
        X = check_matrix(X, allow_nan=True)
        if X.shape[1] != self.n_features_in_:
            raise UserInputError(f"X has {X.shape[1]} features, but GaussianMixture is "
                                 f"expecting {self.n_features_in_} features as input")
        params = self.params_
        complete_rows, patterns = split_patterns(X)
        run = gaussian_log_joint_full if params.full else gaussian_log_joint_diag
        if not patterns:
            return run(X, *params.kernel_arguments())
        out = np.empty((X.shape[0], params.n_components))
        out[complete_rows] = run(np.ascontiguousarray(X[complete_rows]),
                                 *params.kernel_arguments())
        covariances = full_covariances(params)
        for pattern in patterns:
            parts = marginal(params, covariances, pattern)
            out[pattern.rows] = pattern_log_joint(params, X[pattern.rows][:, pattern.observed],
                                                  parts)
        return out

    def impute(self, X):
        """X with each NaN replaced by its conditional mean E[x_missing | x_observed]."""
        self._check_fitted()
        X = check_matrix(X, allow_nan=True)
        return conditional_means(self.params_, X)

    def score_samples(self, X):
        """log p(x_n) per row (of the observed coordinates where some are NaN)."""
        from ..kernels.logspace import logsumexp_rows
        return logsumexp_rows(self._log_joint(X))

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood per sample (weighted if sample_weight)."""
        return float(np.average(self.score_samples(X), weights=sample_weight))

    def predict_proba(self, X):
        """Posterior responsibilities p(k | x_n)."""
        from ..kernels.logspace import normalize_log_rows
        log_resp = self._log_joint(X)
        normalize_log_rows(log_resp)
        return np.exp(log_resp)

    def predict(self, X):
        """Most probable component per row."""
        from ..kernels.gaussian import gaussian_argmax

        self._check_fitted()
        X = check_matrix(X, allow_nan=True)
        if X.shape[1] != self.n_features_in_ or np.isnan(X).any():
            return self._log_joint(X).argmax(axis=1)  # checks, or marginals over NaN
        return gaussian_argmax(X, *self.params_.kernel_arguments(), self.params_.full)

    def _n_parameters(self):
        K, D = self.means_.shape
        return n_covariance_parameters(self.covariance_type, K, D) + K * D + K - 1

    def criteria(self, X, sample_weight=None) -> dict:
        """log L, parameter count, BIC (-2 log L + p log n), AIC (-2 log L + 2 p) and ICL
        (BIC - 2 sum_n log max_k p(k | x_n), mclust's ICL with the sign flipped), all lower
        is better; one E-step at the fitted parameters, no N x K matrix."""
        self._check_fitted()
        if _is_dask(X):
            from ..em.dask import DaskMap, row_blocks
            from ..em.driver import e_step

            stats = e_step(self._model(), self.params_, row_blocks(X),
                           DaskMap(prepare=_prepared_block))
        else:
            X = check_matrix(X, allow_nan=True)
            weight = check_sample_weight(sample_weight, X.shape[0])
            stats = self._model().e_step(self.params_, MixtureData.build(X, weight))
        loglik, n_params = stats["loglik"], self._n_parameters()
        bic = -2 * loglik + n_params * np.log(X.shape[0])
        return {"loglik": loglik, "n_params": n_params, "bic": bic,
                "aic": -2 * loglik + 2 * n_params, "icl": bic + 2 * stats["classification"]}

    def bic(self, X):
        """Bayesian information criterion, -2 log L + p log n (lower is better)."""
        return self.criteria(X)["bic"]

    def aic(self, X):
        """Akaike information criterion, -2 log L + 2 p (lower is better)."""
        return self.criteria(X)["aic"]

    def icl(self, X):
        """Integrated completed likelihood (see :meth:`criteria`; lower is better)."""
        return self.criteria(X)["icl"]

    def sample(self, n_samples=1, random_state=None):
        """Draw (X, labels) from the fitted mixture."""
        self._check_fitted()
        check_positive_int(n_samples, "n_samples")
        rng = np.random.default_rng(seed_sequence(self.random_state if random_state is None
                                                   else random_state))
        counts = rng.multinomial(n_samples, self.weights_)
        cov = self.covariances_
        parts, labels = [], []
        for k, count in enumerate(counts):
            if self.covariance_type == "full":
                draw = rng.multivariate_normal(self.means_[k], cov[k], count)
            elif self.covariance_type == "tied":
                draw = rng.multivariate_normal(self.means_[k], cov, count)
            else:
                scale = np.sqrt(cov[k])
                draw = self.means_[k] + rng.standard_normal((count, self.means_.shape[1])) * scale
            parts.append(draw)
            labels.append(np.full(count, k))
        return np.vstack(parts), np.concatenate(labels)



def _is_dask(X) -> bool:
    return hasattr(X, "to_delayed") and hasattr(X, "chunks")


def _prepared_block(block) -> MixtureData:
    """A block of a Dask array as the model's chunk (checked, float, NaN as missing)."""
    return MixtureData.build(check_matrix(block, allow_nan=True))


def _params_from_precisions(weights, means, precisions, covariance_type):
    """Parameters from user precisions (inverse covariances), validated."""
    if covariance_type in ("full", "tied"):
        stack = precisions[None] if covariance_type == "tied" else precisions
        if not np.allclose(stack, stack.transpose(0, 2, 1)):
            raise UserInputError("precisions_init must be symmetric")
        try:
            covariances = np.array([np.linalg.inv(p) for p in stack])
        except np.linalg.LinAlgError:
            raise UserInputError("precisions_init must be positive definite") from None
        covariances = covariances[0] if covariance_type == "tied" else covariances
    else:
        if np.any(precisions <= 0):
            raise UserInputError("precisions_init must be positive")
        covariances = 1.0 / precisions
    return GaussianParams.from_covariances(weights, means, covariances, covariance_type)


def _precisions(params: GaussianParams):
    prec = params.precisions_cholesky
    if params.covariance_type == "full":
        return np.einsum("kij,klj->kil", prec, prec)
    if params.covariance_type == "tied":
        return prec @ prec.T
    return prec ** 2
