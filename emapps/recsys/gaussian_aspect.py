"""``GaussianAspectRecommender``: rating prediction with Gaussian pLSA (Hofmann 2004).

Each user's ratings are standardised with a shrunken user mean and spread,
v' = (v - m_u) / s_u, and modelled as p(v' | u, i) = sum_z P(z | u) N(v'; mu_iz, s2_iz).
Tempered MAP-EM through the core driver: q(z | u, i, v) is proportional to
(P(z | u) N(v'; mu_iz, s2_iz))^beta; each (mu_iz, s2_iz) has a conjugate normal-inverse-gamma
prior worth ``prior_strength`` ratings at the item's (shrunken) mean, so rarely rated items
stay sensible.  Prediction: m_u + s_u sum_z P(z | u) mu_iz.  A new user is folded in by EM
on P(z | u) with the items fixed.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ..core.estimator import take_renamed_keywords
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.aspect import gaussian_aspect_estep
from .io import Ratings, UserRows
from .recommender import RatingRecommender

#: added to every expected count in the M-step so no P(z | u) becomes exactly 0
SMOOTHING = 1e-9


@dataclass
class GaussianAspectParams:
    theta: np.ndarray       # (U, K) P(z | u)
    means: np.ndarray       # (I, K) mu_iz, standardised units
    variances: np.ndarray   # (I, K) s2_iz


class GaussianAspectEM:
    """Tempered MAP-EM over standardised ``UserRows``; with ``fixed`` (means, variances)
    only P(z | u) is fitted (fold-in)."""

    def __init__(self, n_users, n_classes, temperature, prior_mean, prior_var, strength,
                 fixed=None):
        self.n_users, self.n_classes = n_users, n_classes
        self.temperature = temperature
        self.prior_mean, self.prior_var, self.strength = prior_mean, prior_var, strength
        self.fixed = fixed

    def initial_params(self, rows: UserRows, rng) -> GaussianAspectParams:
        theta = rng.dirichlet(np.ones(self.n_classes), size=self.n_users)
        if self.fixed is not None:
            return GaussianAspectParams(theta, *self.fixed)
        shape = (self.prior_mean.shape[0], self.n_classes)
        spread = np.sqrt(self.prior_var)
        means = self.prior_mean[:, None] + rng.normal(scale=0.5 * spread, size=shape)
        return GaussianAspectParams(theta, means, np.full(shape, self.prior_var))

    def e_step(self, params: GaussianAspectParams, rows: UserRows) -> dict:
        moments, user_class, energy = gaussian_aspect_estep(
            rows.indptr, rows.items, rows.values, np.log(params.theta), params.means,
            params.variances, self.temperature)
        return {"item_moments": moments, "user_class": user_class, "loglik": energy,
                "weight": float(rows.values.shape[0])}

    def log_prior(self, params: GaussianAspectParams) -> float:
        """sum_iz log NIG(mu_iz, s2_iz): mu ~ N(m_i, s2 / kappa), s2 ~ IG(kappa/2,
        kappa s0^2 / 2); a constant when the items are fixed."""
        if self.fixed is not None:
            return 0.0
        kappa = self.strength
        shape, scale = kappa / 2.0, kappa * self.prior_var / 2.0
        variances = params.variances
        offsets = params.means - self.prior_mean[:, None]
        return float(np.sum(-0.5 * np.log(2.0 * np.pi * variances / kappa)
                            - kappa * offsets ** 2 / (2.0 * variances)
                            + shape * np.log(scale) - gammaln(shape)
                            - (shape + 1.0) * np.log(variances) - scale / variances))

    def m_step(self, params: GaussianAspectParams, stats: dict) -> GaussianAspectParams:
        theta = stats["user_class"] + SMOOTHING
        theta /= theta.sum(axis=1, keepdims=True)
        if self.fixed is not None:
            return GaussianAspectParams(theta, *self.fixed)
        counts, first, second = np.moveaxis(stats["item_moments"], 2, 0)
        kappa, centre = self.strength, self.prior_mean[:, None]
        means = (first + kappa * centre) / (counts + kappa)
        residual = np.maximum(second - 2.0 * means * first + means ** 2 * counts, 0.0)
        variances = ((residual + kappa * (means - centre) ** 2 + kappa * self.prior_var)
                     / (counts + kappa + 3.0))
        return GaussianAspectParams(theta, means, variances)


def shrunken_moments(groups, values, n_groups, mean, variance, pseudo):
    """Per group (mean, variance) shrunk towards (``mean``, ``variance``) by ``pseudo``
    ratings: m = (sum v + q mean) / (n + q), s2 = (sum (v - m)^2 + q variance) / (n + q)."""
    counts = np.bincount(groups, minlength=n_groups)
    centres = (np.bincount(groups, values, n_groups) + pseudo * mean) / (counts + pseudo)
    squares = np.bincount(groups, (values - centres[groups]) ** 2, n_groups)
    return centres, (squares + pseudo * variance) / (counts + pseudo)


class GaussianAspectRecommender(RatingRecommender):
    """Rating prediction (and top-N by predicted rating) with Gaussian pLSA.

    Fitted attributes: ``theta_`` (U x K), ``means_``, ``variances_`` (I x K, standardised
    units), ``user_mean_``, ``user_scale_`` (m_u, s_u), ``global_mean_``,
    ``global_var_``, ``prior_mean_`` (items' prior centres), ``loglik_`` (tempered log
    posterior), ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``, ``item_ids_``.
    """

    def __init__(self, n_classes=20, *, temperature=0.9, prior_strength=5.0,
                 user_pseudo=5.0, max_iter=60, tol=1e-6, random_state=None, clip=True, **renamed):
        self.n_classes = n_classes
        self.temperature = temperature
        self.prior_strength = prior_strength
        self.user_pseudo = user_pseudo
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.clip = clip
        take_renamed_keywords(self, renamed)

    def _check(self):
        check_positive_int(self.n_classes, "n_classes")
        check_positive_int(self.max_iter, "max_iter")
        if not 0.0 < self.temperature <= 1.0:
            raise UserInputError(f"temperature must be in (0, 1]; got {self.temperature}")
        for name in ("prior_strength", "user_pseudo"):
            if not getattr(self, name) > 0:
                raise UserInputError(f"{name} must be positive; got {getattr(self, name)}")

    def fit(self, ratings: Ratings) -> "GaussianAspectRecommender":
        self._check()
        known = (ratings.users >= 0) & (ratings.items >= 0)
        if not known.any():
            raise UserInputError("no ratings to fit")
        users, items, values = ratings.users[known], ratings.items[known], ratings.values[known]
        self.global_mean_, self.global_var_ = float(values.mean()), float(values.var())
        self.rating_range_ = (float(values.min()), float(values.max()))
        self.user_mean_, user_var = shrunken_moments(
            users, values, ratings.n_users, self.global_mean_, self.global_var_,
            self.user_pseudo)
        self.user_scale_ = np.sqrt(np.maximum(user_var, 1e-12))
        standard = (values - self.user_mean_[users]) / self.user_scale_[users]
        self.prior_mean_, _ = shrunken_moments(items, standard, ratings.n_items, 0.0, 0.0,
                                               self.prior_strength)
        self.prior_var_ = max(float(standard.var()), 1e-6)
        rows = UserRows.build(users, items, standard, ratings.n_users)
        model = GaussianAspectEM(ratings.n_users, self.n_classes, self.temperature,
                                 self.prior_mean_, self.prior_var_, self.prior_strength)
        result = fit_em(model, rows, seed=self._seed_sequence(), max_iter=self.max_iter,
                        **self._em_options())
        self._keep_record(result)
        p = result.params
        self.theta_, self.means_, self.variances_ = p.theta, p.means, p.variances
        self.user_ids_, self.item_ids_ = ratings.user_ids, ratings.item_ids
        self.feedback_ = rows
        return self

    def _finish(self, predictions):
        return np.clip(predictions, *self.rating_range_) if self.clip else predictions

    def predict_codes(self, users, items) -> np.ndarray:
        """Predicted ratings for user/item codes; an unknown user (-1) gets the item's
        prior centre at the global mean and spread, an unknown item the user's mean."""
        users, items = np.asarray(users), np.asarray(items)
        known_user, known_item = users >= 0, items >= 0
        centre = np.where(known_user, self.user_mean_[users], self.global_mean_)
        scale = np.where(known_user, self.user_scale_[users], np.sqrt(self.global_var_))
        deviation = np.zeros(users.shape)
        cold = known_item & ~known_user
        deviation[cold] = self.prior_mean_[items[cold]]
        both = known_item & known_user
        deviation[both] = np.einsum("nk,nk->n", self.theta_[users[both]],
                                    self.means_[items[both]])
        return self._finish(centre + scale * deviation)

    def scores(self, users) -> np.ndarray:
        """Expected ratings of every item for each user code: (len(users), I)."""
        users = np.asarray(users, dtype=np.int64)
        return (self.user_mean_[users, None]
                + self.user_scale_[users, None] * (self.theta_[users] @ self.means_.T))

    def explain_codes(self, user, item, n=5) -> dict:
        """Why ``item`` gets its predicted rating for ``user`` (codes).  The deviation from
        the user's mean is s_u sum_z P(z | u) mu_iz: ``factors`` are its largest class
        terms.  At EM's fixed point P(z | u) is the average over the user's ratings j of
        their class posteriors q_j, so the deviation also splits into one term per rating,
        s_u sum_z q_j(z) mu_iz / n_u: ``items`` are the largest."""
        rows, scale = self.feedback_, self.user_scale_[user]
        lo, hi = rows.indptr[user], rows.indptr[user + 1]
        mine = rows.items[lo:hi]
        class_terms = scale * self.theta_[user] * self.means_[item]
        log_joint = (np.log(self.theta_[user])[None, :] - 0.5 * np.log(self.variances_[mine])
                     - 0.5 * (rows.values[lo:hi, None] - self.means_[mine]) ** 2
                     / self.variances_[mine]) * self.temperature
        posterior = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
        posterior /= posterior.sum(axis=1, keepdims=True)
        support = scale * posterior @ self.means_[item] / max(len(mine), 1)
        top_items = np.argsort(-support, kind="stable")[:n]
        top_classes = np.argsort(-class_terms, kind="stable")[:n]
        return {"score": float(self.predict_codes(np.array([user]), np.array([item]))[0]),
                "items": [(int(mine[k]), float(support[k])) for k in top_items],
                "factors": [(int(z), float(class_terms[z])) for z in top_classes]}

    def fold_in(self, items, values, max_iter=30) -> np.ndarray:
        """A new user as (m_u, s_u, P(z | u)...): shrunken moments of their ratings, then
        EM on P(z | u) with the items fixed."""
        items = np.asarray(items, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        keep = items >= 0
        items, values = items[keep], values[keep]
        mean, var = shrunken_moments(np.zeros(len(values), dtype=np.int64), values, 1,
                                     self.global_mean_, self.global_var_, self.user_pseudo)
        scale = float(np.sqrt(max(var[0], 1e-12)))
        rows = UserRows.single(items, (values - mean[0]) / scale)
        model = GaussianAspectEM(1, self.n_classes, self.temperature, self.prior_mean_,
                                 self.prior_var_, self.prior_strength,
                                 fixed=(self.means_, self.variances_))
        theta = fit_em(model, rows, seed=self._seed_sequence(), max_iter=max_iter,
                       **self._em_options()).params.theta[0]
        return np.r_[mean[0], scale, theta]

    def predict_folded(self, factors, items) -> np.ndarray:
        """Predicted ratings of a folded-in user (``fold_in``'s result) for item codes."""
        items = np.asarray(items, dtype=np.int64)
        deviation = np.where(items >= 0, self.means_[items] @ factors[2:], 0.0)
        return self._finish(factors[0] + factors[1] * deviation)

    def folded_scores(self, items, values) -> np.ndarray:
        """Predicted ratings of every item for a new user folded in from their ratings."""
        return self.predict_folded(self.fold_in(items, values),
                                   np.arange(self.means_.shape[0]))

    def _latent_vectors(self) -> tuple:
        """(item vectors, user vectors) for similarity: each item's mean rating per class, each user's class shares."""
        return self.means_, self.theta_

    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        self._save(path, "gaussian-aspect", {
            "theta": self.theta_, "means": self.means_, "variances": self.variances_,
            "user_mean": self.user_mean_, "user_scale": self.user_scale_,
            "prior_mean": self.prior_mean_}, n_classes=self.n_classes,
            temperature=self.temperature,
            prior_strength=self.prior_strength, user_pseudo=self.user_pseudo,
            clip=self.clip, global_mean=self.global_mean_, global_var=self.global_var_,
            prior_var=self.prior_var_, rating_range=list(self.rating_range_))

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "GaussianAspectRecommender":
        model = cls(meta["n_classes"], temperature=meta["temperature"],
                    prior_strength=meta["prior_strength"], user_pseudo=meta["user_pseudo"],
                    clip=meta["clip"])
        for name in ("theta", "means", "variances", "user_mean", "user_scale", "prior_mean"):
            setattr(model, f"{name}_", arrays[name])
        model.global_mean_, model.global_var_ = meta["global_mean"], meta["global_var"]
        model.prior_var_ = meta["prior_var"]
        model.rating_range_ = tuple(meta["rating_range"])
        model._restore(meta, arrays)
        return model
