"""``LatentClassModel``: latent class analysis of categorical items (poLCA's model), with
Gaussian measurements and Poisson counts beside them (StepMix's mixed models), as a
scikit-learn-style estimator.  See :mod:`emapps.lca.model` for the EM."""

import numpy as np

from ..core.estimator import Estimator
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.latent_class import latent_class_posteriors
from .model import LatentClassEM, LatentClassParams, answer_rows, kernel_parameters
from .responses import (as_columns, encode, learn_categories, numeric_block, responses,
                        split_indicators)

#: starts count as reaching the best maximum when this close to it (poLCA's census)
SAME_MAXIMUM = 1e-6


class LatentClassModel(Estimator):
    """Latent classes behind categorical items.

    Each respondent belongs to one of ``n_components`` classes (shares ``weights_``);
    within a class the items are independent, item j answered c with probability
    ``probabilities_[j][k, c]``.  Missing answers (NaN, None, '' or 'NA') drop out of
    the respondent's likelihood (full information, poLCA's ``na.rm = FALSE``); a
    respondent with no answers keeps the class shares as posterior.

    With ``n_final``, every start first runs ``screen_iter`` iterations and only the
    ``n_final`` best go on to convergence (Mplus's initial and final stage starts:
    starts bound for a poor maximum are often the slowest to reach it).

    Fitted by EM (SQUAREM-accelerated) from ``n_init`` seeded random starts, each until
    the log-likelihood changes by less than ``tol`` relative to its value (poLCA's
    1e-10 on the total is below double precision's resolution past a few thousand
    respondents; 1e-12 relative is tighter than it below 100 respondents and reaches
    its maxima and parameters elsewhere); the best is kept and ``start_logliks_`` holds
    every start's maximum (poLCA's census).
    Classes are ordered by decreasing share.

    ``continuous`` and ``counts`` name columns (by position, or by name for a data
    frame) that are not categorical: a measurement is Gaussian within a class (``means_``,
    ``variances_``), a count Poisson (``rates_``); NaN is missing in both.
    ``covariates`` name columns that predict class membership instead (latent class
    regression, poLCA's formula with covariates): the prior of each respondent's class is
    a multinomial logit of them, ``coefficients_`` (intercept first, class 1 the
    reference), fitted by a Newton step per EM iteration.
    """

    _estimator_type = "clusterer"
    _fitted_attribute = "weights_"
    _input_tags = {"allow_nan": True, "two_d_array": True, "categorical": True}

    def __init__(self, n_components=2, *, continuous=None, counts=None, covariates=None,
                 n_init=10,
                 n_final=None, screen_iter=10, max_iter=5000, tol=1e-12, accelerate="squarem",
                 random_state=None, verbose=0):
        self.n_components = n_components
        self.continuous = continuous
        self.counts = counts
        self.covariates = covariates
        self.n_init = n_init
        self.n_final = n_final
        self.screen_iter = screen_iter
        self.max_iter = max_iter
        self.tol = tol
        self.accelerate = accelerate
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting -------------------------------------------------------------------------
    def check_settings(self):
        """One error line for a setting that makes no sense (before any data is read)."""
        check_positive_int(self.n_components, "n_components")
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.screen_iter, "screen_iter")
        if self.n_final is not None:
            check_positive_int(self.n_final, "n_final")
            if self.n_final > self.n_init:
                raise UserInputError(f"n_final ({self.n_final}) must be at most n_init "
                                     f"({self.n_init})")
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise UserInputError(f"tol must be a number >= 0; got {self.tol!r}")
        if self.accelerate not in (None, "squarem"):
            raise UserInputError(f"accelerate must be 'squarem' or None; got "
                                 f"{self.accelerate!r}")

    def fit(self, X, y=None, sample_weight=None, item_names=None):
        """Estimate class shares and each indicator's parameters from X (respondents x
        indicators; a data frame's column names, or ``item_names``, name them)."""
        self.check_settings()
        columns = as_columns(X)
        names = list(item_names) if item_names is not None else _item_names(X, len(columns))
        self.feature_names_in_ = np.array(names, dtype=object) if hasattr(X, "columns") \
            else None
        self.n_features_in_ = len(columns)
        self.indicator_columns_ = split_indicators(names, self.continuous, self.counts,
                                                   self.covariates)
        items, measured, counted, explaining = ([names[p] for p in positions]
                                                for positions in self.indicator_columns_)
        self.item_names_, self.continuous_names_, self.count_names_ = items, measured, counted
        self.covariate_names_ = explaining
        self.categories_ = learn_categories(
            [columns[p] for p in self.indicator_columns_[0]], items)
        codes, continuous, counts, covariates = self._indicators(columns)
        weight = None if sample_weight is None else _checked_weight(sample_weight,
                                                                    codes.shape[0])
        if not measured and not counted and not explaining:
            patterns = _distinct_answered(codes, self.n_components + 1)
            if self.n_components >= patterns:
                raise UserInputError(f"{self.n_components} classes for {patterns} distinct "
                                     f"answer patterns: K must be smaller")
        self.offsets_ = np.concatenate([[0], np.cumsum([len(c) for c in self.categories_])])
        data = responses(codes, self.offsets_, weight, continuous, counts, covariates)
        with np.errstate(invalid="ignore"):
            spread = np.nanvar(continuous, axis=0) if measured else np.zeros(0)
        model = LatentClassEM(self.offsets_, self.n_components, spread)
        self.result_ = fit_em(model, data, n_init=self.n_init, seed=self._seed_sequence(),
                              max_iter=self.max_iter, tol=self.tol, tol_on="relative",
                              accelerate=self.accelerate, verbose=bool(self.verbose),
                              screen=None if self.n_final is None
                              else (self.screen_iter, self.n_final))
        self._set_fitted(self.result_.params, data)
        return self

    def _indicators(self, columns) -> tuple:
        """(answer codes, measurements, counts, covariates) of the columns, by the fitted
        split."""
        items, measured, counted, explaining = self.indicator_columns_
        n_rows = columns[0].shape[0]
        codes = encode([columns[p] for p in items], self.categories_, self.item_names_) \
            if items else np.zeros((n_rows, 0), dtype=np.int8)
        return (codes,
                numeric_block([columns[p] for p in measured], self.continuous_names_, n_rows),
                numeric_block([columns[p] for p in counted], self.count_names_, n_rows,
                              "count"),
                numeric_block([columns[p] for p in explaining], self.covariate_names_, n_rows,
                              "covariate"))

    def set_fitted(self, params: LatentClassParams, categories, item_names,
                   continuous_names=(), count_names=(), covariate_names=()):
        """Use given parameters (e.g. a model file's) as the fit, for prediction; X then
        holds the items, the measurements, the counts and the covariates, in that
        order."""
        self.categories_ = list(categories)
        self.item_names_ = list(item_names)
        self.continuous_names_, self.count_names_ = list(continuous_names), list(count_names)
        self.covariate_names_ = list(covariate_names)
        sizes = [len(self.item_names_), len(self.continuous_names_), len(self.count_names_),
                 len(self.covariate_names_)]
        ends = np.cumsum(sizes)
        self.n_features_in_ = int(ends[-1])
        self.indicator_columns_ = tuple(list(range(end - size, end))
                                        for size, end in zip(sizes, ends))
        self.feature_names_in_ = None
        self.offsets_ = np.concatenate([[0], np.cumsum([len(c) for c in self.categories_])])
        self._set_parameters(params)
        return self

    def _set_parameters(self, params: LatentClassParams) -> None:
        self.params_ = params
        self.weights_ = params.weights
        self.answer_probabilities_ = np.ascontiguousarray(params.probs)
        self.probabilities_ = [self.answer_probabilities_[start:stop].T.copy()
                               for start, stop in zip(self.offsets_[:-1], self.offsets_[1:])]
        self.means_ = params.means.T.copy()
        self.variances_ = params.variances.T.copy()
        self.rates_ = params.rates.T.copy()
        self.coefficients_ = params.coefficients.copy()

    def _set_fitted(self, params: LatentClassParams, data) -> None:
        order = np.argsort(-params.weights, kind="stable")
        coefficients = params.coefficients[:, order]
        self._set_parameters(LatentClassParams(
            params.weights[order], params.probs[:, order], params.means[:, order],
            params.variances[:, order], params.rates[:, order],
            coefficients - coefficients[:, :1]))
        result = self.result_
        self.loglik_ = float(result.loglik)
        self.n_iter_ = result.n_iter
        self.converged_ = bool(result.converged)
        self.start_logliks_ = np.array(result.restart_logliks)
        self.n_observations_ = float(data.weight.sum())
        self.trace_ = list(result.trace)
        self.seed_ = result.seed

    @property
    def n_parameters_(self) -> int:
        """(K - 1) shares (or (K - 1)(Q + 1) coefficients with Q covariates), K (C_j - 1)
        answer probabilities per item (as poLCA counts), a mean and a variance per class
        and measurement, a rate per class and count."""
        self._check_fitted()
        K = self.n_components
        return int((K - 1) * (1 + len(self.covariate_names_))
                   + K * sum(len(c) - 1 for c in self.categories_)
                   + K * (2 * len(self.continuous_names_) + len(self.count_names_)))

    @property
    def starts_at_best_(self) -> int:
        """How many (finished) starts reached the best maximum: within 1e-6, or 1e-8
        relative for large data, where the stopping rule leaves more than 1e-6."""
        self._check_fitted()
        margin = max(SAME_MAXIMUM, 1e-8 * abs(self.loglik_))
        return int(np.sum(self.start_logliks_ >= self.loglik_ - margin))

    # -- criteria ------------------------------------------------------------------------
    def criteria(self) -> dict:
        """Log-likelihood, parameters and the criteria of the fit (lower is better):
        BIC, AIC, CAIC, sample-size adjusted BIC (N* = (N + 2) / 24)."""
        self._check_fitted()
        deviance, p, n = -2.0 * self.loglik_, self.n_parameters_, self.n_observations_
        return {"log_likelihood": self.loglik_, "parameters": p, "observations": n,
                "bic": deviance + p * np.log(n), "aic": deviance + 2.0 * p,
                "caic": deviance + p * (np.log(n) + 1.0),
                "abic": deviance + p * np.log((n + 2.0) / 24.0)}

    def bic(self, X) -> float:
        """-2 log L(X) + p log N (poLCA's and mclust's sign is the opposite for mclust)."""
        return -2.0 * self.score(X) * _rows(X) + self.n_parameters_ * np.log(_rows(X))

    def aic(self, X) -> float:
        return -2.0 * self.score(X) * _rows(X) + 2.0 * self.n_parameters_

    def standard_errors(self, X, sample_weight=None) -> dict:
        """Standard errors of ``weights_`` (None with covariates, whose shares are
        derived), ``probabilities_`` and ``coefficients_`` (same shapes) from the
        observed information of the fit on X, the data it was fitted on (see
        :mod:`emapps.lca.information`)."""
        from .information import standard_errors

        if self.continuous_names_ or self.count_names_:
            raise UserInputError("standard errors cover models of categorical items only "
                                 "(no measurements or counts)")
        codes, _, _, covariates = self._indicators(self._columns(X))
        weight = None if sample_weight is None else _checked_weight(sample_weight,
                                                                    codes.shape[0])
        weights_se, probs_se, coefficients_se = standard_errors(
            LatentClassEM(self.offsets_, self.n_components),
            responses(codes, self.offsets_, weight, covariates=covariates), self.params_)
        return {"weights": weights_se,
                "probabilities": [probs_se[start:stop].T.copy() for start, stop
                                  in zip(self.offsets_[:-1], self.offsets_[1:])],
                "coefficients": coefficients_se}

    def bootstrap(self, X, n_boot=100, random_state=None) -> dict:
        """Bootstrap standard errors of every fitted parameter from ``n_boot``
        replicates of X's respondents (see :mod:`emapps.lca.bootstrap`)."""
        from .bootstrap import bootstrap_errors

        return bootstrap_errors(self, X, n_boot, self.random_state if random_state is None
                                else random_state)

    # -- prediction ----------------------------------------------------------------------
    def _columns(self, X) -> list:
        self._check_fitted()
        columns = as_columns(X)
        if len(columns) != self.n_features_in_:
            raise UserInputError(f"X has {len(columns)} columns; the model was fitted on "
                                 f"{self.n_features_in_}")
        return columns

    def posteriors(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(p(k | x) as (respondents, K), log p(x) per respondent)."""
        codes, continuous, counts, covariates = self._indicators(self._columns(X))
        design = np.column_stack([np.ones(codes.shape[0]), covariates]) \
            if covariates.shape[1] else covariates
        return latent_class_posteriors(answer_rows(codes, self.offsets_), continuous, counts,
                                       design, *kernel_parameters(self.params_))

    def predict_proba(self, X) -> np.ndarray:
        """Posterior class membership p(k | answers), (respondents, K)."""
        return self.posteriors(X)[0]

    def predict(self, X) -> np.ndarray:
        """Modal class of each respondent."""
        return self.predict_proba(X).argmax(axis=1)

    def fit_predict(self, X, y=None):
        return self.fit(X).predict(X)

    def score_samples(self, X) -> np.ndarray:
        """log p(answers) of each respondent."""
        return self.posteriors(X)[1]

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per respondent."""
        return float(np.mean(self.score_samples(X)))

    def entropy_r2(self, X) -> float:
        """1 - (posterior entropy) / (N log K): 1 when every respondent's class is
        certain, 0 when posteriors equal the shares."""
        if self.n_components == 1:
            return 1.0
        resp = self.predict_proba(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.nansum(np.where(resp > 0, resp * np.log(resp), 0.0))
        return float(1.0 - entropy / (resp.shape[0] * np.log(self.n_components)))


def _distinct_answered(codes, enough: int) -> int:
    """How many distinct answer patterns (of respondents who answered something) there
    are, counted exactly only when there may be fewer than ``enough``."""
    answered = codes[(codes >= 0).any(axis=1)]
    head = np.unique(answered[:50 * enough], axis=0).shape[0]
    return head if head >= enough else np.unique(answered, axis=0).shape[0]


def _item_names(X, n_items) -> list[str]:
    if hasattr(X, "columns"):
        return [str(name) for name in X.columns]
    return [f"item{j + 1}" for j in range(n_items)]


def _rows(X) -> int:
    return len(X) if hasattr(X, "__len__") else np.asarray(X).shape[0]


def _checked_weight(sample_weight, n_rows) -> np.ndarray:
    weight = np.asarray(sample_weight, dtype=float)
    if weight.shape != (n_rows,) or not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise UserInputError(f"sample_weight must be {n_rows} finite non-negative numbers")
    return weight
