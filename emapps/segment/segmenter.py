"""``ImageSegmenter``: pixel-feature mixture segmentation, optionally under a Potts prior.

fit(image) fits a Gaussian mixture to the image's pixel features (K fixed, or chosen
over a range by BIC/ICL), orders the components by their first feature (lightness for
Lab) so label colours are stable, and with ``spatial='mrf'`` continues with HMRF-EM
(:mod:`emapps.segment.hmrf`).  fit_sample(X) fits the mixture to feature rows pooled
from many images (a shared model); predict(image) then labels any image under it.
"""

import warnings

import numpy as np

from ..core.estimator import Estimator, seed_sequence
from ..core.validation import check_choice, check_positive_int
from ..errors import UserInputError
from ..mixture import GaussianMixture
from ..mixture.params import GaussianParams
from ..mixture.selection import CRITERIA, select_model
from .features import FEATURES, pixel_features
from .hmrf import fit_hmrf

SPATIAL = ("none", "mrf")
UPDATES = ("mean-field", "icm")


def ordered_by_first_feature(params: GaussianParams) -> tuple[GaussianParams, np.ndarray]:
    """Components sorted by mean (first feature, then the next ones), and the order."""
    order = np.lexsort(params.means.T[::-1])
    if params.covariance_type == "tied":
        covariances, prec = params.covariances, params.precisions_cholesky
    else:
        covariances, prec = params.covariances[order], params.precisions_cholesky[order]
    return GaussianParams(params.weights[order], params.means[order], covariances, prec,
                          params.covariance_type), order


def distinct_rows(X: np.ndarray, enough: int, probe: int = 4096) -> int:
    """Number of distinct rows of X, or ``enough`` once a probe of rows has that many."""
    step = max(1, X.shape[0] // probe)
    if len(np.unique(X[::step], axis=0)) >= enough:
        return enough
    return len(np.unique(X, axis=0))


class ImageSegmenter(Estimator):
    """Segment images by EM on pixel features: GMM, or HMRF with a Potts prior.

    Fitted attributes: ``mixture_`` (a :class:`~emapps.mixture.GaussianMixture` with
    components ordered by lightness), ``n_components_``, ``beta_``, ``labels_`` of the
    image fitted and, for the HMRF, ``posteriors_`` (its mean-field q; for the mixture
    use :meth:`predict_proba`, which builds the H x W x K array only when asked), ``loglik_`` (mean log-likelihood per pixel for
    the mixture, mean free energy per pixel for the HMRF), ``n_iter_``, ``converged_``,
    ``trace_`` and ``selection_`` (the criterion table when K was a range).
    """

    _fitted_attribute = "mixture_"

    def __init__(self, n_components=8, *, features="labxy", spatial="mrf", beta=1.0,
                 estimate_beta=True, connectivity=4, update="mean-field", criterion="bic",
                 covariance_type="full", xy_scale=0.5, texture=False, texture_size=7,
                 tol=1e-3, max_iter=200, n_init=1, reg_covar=1e-6, sample_pixels=1_000_000,
                 random_state=None):
        self.n_components = n_components
        self.features = features
        self.spatial = spatial
        self.beta = beta
        self.estimate_beta = estimate_beta
        self.connectivity = connectivity
        self.update = update
        self.criterion = criterion
        self.covariance_type = covariance_type
        self.xy_scale = xy_scale
        self.texture = texture
        self.texture_size = texture_size
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.sample_pixels = sample_pixels
        self.random_state = random_state

    def _check(self):
        check_choice(self.features, "features", FEATURES)
        check_choice(self.spatial, "spatial", SPATIAL)
        check_choice(self.update, "update", UPDATES)
        check_choice(self.criterion, "criterion", CRITERIA)
        check_choice(self.connectivity, "connectivity", (4, 8))
        for name in ("beta", "tol", "reg_covar", "xy_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0):
                raise UserInputError(f"{name} must be a number >= 0; got {value!r}")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_init, "n_init")
        if self.sample_pixels is not None:
            check_positive_int(self.sample_pixels, "sample_pixels")
        for k in self._candidate_ks():
            check_positive_int(k, "n_components")

    def check_settings(self) -> "ImageSegmenter":
        """Raise UserInputError for invalid settings (before any image is read)."""
        self._check()
        return self

    def _candidate_ks(self) -> list[int]:
        k = self.n_components
        return [k] if isinstance(k, (int, np.integer)) else list(k)

    def image_features(self, image: np.ndarray) -> np.ndarray:
        """(H*W, D) features of an image as this segmenter computes them."""
        return pixel_features(image, self.features, xy_scale=self.xy_scale,
                              texture=self.texture, texture_size=self.texture_size)

    # -- fitting ---------------------------------------------------------------------
    def _mixture_settings(self) -> dict:
        return {"covariance_type": self.covariance_type, "tol": self.tol,
                "reg_covar": self.reg_covar, "max_iter": self.max_iter,
                "n_init": self.n_init, "random_state": self.random_state, "accelerate": None}

    def fit_sample(self, X: np.ndarray):
        """Fit the mixture to feature rows X (e.g. pixels pooled over a folder).

        Above ``sample_pixels`` rows, EM first runs to convergence on a seeded random
        sample of that many rows, then continues on all rows until it converges there.
        X may be a Dask array; EM on all its rows then runs block by block on Dask.
        """
        self._check()
        blocks = hasattr(X, "to_delayed")   # a Dask array: EM on all rows runs by blocks
        if self.sample_pixels is not None and X.shape[0] > self.sample_pixels:
            rng = np.random.default_rng(seed_sequence(self.random_state))
            sample = np.sort(rng.choice(X.shape[0], self.sample_pixels, replace=False))
            self._fit_mixture(np.asarray(X[sample]))
            sample_trace, mixture = self.trace_, self.mixture_
            mixture.set_params(warm_start=True, n_init=1).fit(X)
            self._set_mixture(mixture, self.n_iter_ + mixture.n_iter_)
            self.trace_ = sample_trace + self.trace_  # mean per pixel, sample then all
            return self
        return self._fit_mixture(X.compute() if blocks else X)

    def _fit_mixture(self, X: np.ndarray):
        ks = self._candidate_ks()
        distinct = distinct_rows(X, max(ks))
        if max(ks) > distinct:
            warnings.warn(f"only {distinct} distinct pixel values: K limited to {distinct}",
                          UserWarning, stacklevel=2)
            ks = sorted({min(k, distinct) for k in ks})
        if len(ks) == 1:
            mixture = GaussianMixture(ks[0], **self._mixture_settings()).fit(X)
            self.selection_ = None
        else:
            settings = self._mixture_settings()
            covariance = settings.pop("covariance_type")
            selection = select_model(X, ks, (covariance,), self.criterion, **settings)
            mixture, self.selection_ = selection.best, selection.rows
        params, _ = ordered_by_first_feature(mixture.params_)
        mixture.set_fitted_params(params)
        return self._set_mixture(mixture, mixture.n_iter_)

    def _set_mixture(self, mixture: GaussianMixture, n_iter: int):
        self.mixture_ = mixture
        self.n_components_ = mixture.params_.n_components
        self.beta_ = float(self.beta)
        self.loglik_ = mixture.lower_bound_
        self.n_iter_ = n_iter
        self.converged_ = mixture.converged_
        self.trace_ = list(mixture.lower_bounds_)
        self.seed_ = mixture.seed_
        return self

    def fit(self, image: np.ndarray, *, features: np.ndarray | None = None):
        """Fit to one image and label it (``labels_``; ``posteriors_`` for the HMRF).

        ``features``: this image's :meth:`image_features`, when already computed (as for
        every method that takes an image).
        """
        X = self.image_features(image) if features is None else features
        self.fit_sample(X)
        self.posteriors_ = None
        if self.spatial == "none":
            self.labels_ = self.mixture_.predict(X).reshape(image.shape[:2])
        else:
            hmrf = self._hmrf(X, image.shape[:2], update_emissions=True)
            self.mixture_.set_fitted_params(hmrf.params.gaussian)
            self.beta_ = hmrf.beta
            self.loglik_ = hmrf.trace[-1] / X.shape[0]
            self.n_iter_ += hmrf.n_iter
            self.converged_ = hmrf.converged
            self.trace_ += [value / X.shape[0] for value in hmrf.trace]
            self.posteriors_ = hmrf.params.q.reshape(*image.shape[:2], -1)
            self.labels_ = self.posteriors_.argmax(axis=2)
        return self

    def _hmrf(self, X, shape, update_emissions: bool):
        return fit_hmrf(X, shape, self.mixture_.params_, self.mixture_.predict_proba(X),
                        beta=self.beta_, estimate=self.estimate_beta,
                        eight=self.connectivity == 8, hard=self.update == "icm",
                        update_emissions=update_emissions,
                        covariance_type=self.covariance_type, reg_covar=self.reg_covar,
                        tol=self.tol, max_iter=self.max_iter)

    def fit_predict(self, image: np.ndarray) -> np.ndarray:
        return self.fit(image).labels_

    # -- labelling with a fitted model -----------------------------------------------
    def shared_state(self) -> tuple[GaussianParams, float]:
        """(emission parameters, beta): what another segmenter needs to label images."""
        self._check_fitted()
        return self.mixture_.params_, self.beta_

    def use_shared(self, state: tuple[GaussianParams, float]):
        """Label with a model fitted elsewhere (see :meth:`shared_state`)."""
        params, beta = state
        self.mixture_ = GaussianMixture(params.n_components,
                                        covariance_type=params.covariance_type)
        self.mixture_.set_fitted_params(params)
        self.n_components_ = params.n_components
        self.beta_ = float(beta)
        return self

    def score(self, image: np.ndarray, *, features: np.ndarray | None = None) -> float:
        """Mean log-likelihood per pixel of the image under the fitted mixture."""
        return self.mixture_.score(self._model_features(image, features))

    def _model_features(self, image: np.ndarray, features=None) -> np.ndarray:
        self._check_fitted()
        X = self.image_features(image) if features is None else features
        if X.shape[1] != self.mixture_.n_features_in_:
            raise UserInputError(f"the image gives {X.shape[1]} features, the model was "
                                 f"fitted on {self.mixture_.n_features_in_} (gray vs colour?)")
        return X

    def predict_proba(self, image: np.ndarray, *, features: np.ndarray | None = None
                      ) -> np.ndarray:
        """(H, W, K) label probabilities under the fitted model (mean-field q for 'mrf')."""
        X = self._model_features(image, features)
        if self.spatial == "none":
            return self.mixture_.predict_proba(X).reshape(*image.shape[:2], -1)
        hmrf = self._hmrf(X, image.shape[:2], update_emissions=False)
        return hmrf.params.q.reshape(*image.shape[:2], -1)

    def predict(self, image: np.ndarray, *, features: np.ndarray | None = None) -> np.ndarray:
        """(H, W) labels 0..K-1, ordered by component lightness."""
        if self.spatial == "none":
            X = self._model_features(image, features)
            return self.mixture_.predict(X).reshape(image.shape[:2])
        return self.predict_proba(image, features=features).argmax(axis=2)
