"""``FactorRecommender``: rating prediction by factor analysis with missing entries.

r_ui = mu + b_i + c_u + w_i^T z_u + e,  e ~ N(0, s2),  (c_u, z_u) ~ N(0, diag(t2, I)),
(b_i, w_i) ~ N(0, diag(lambda)^-1)

fitted by variational EM through the core driver (Canny 2002's model with biases, made
Bayesian over items as in Lim & Teh 2007): users and items both get Gaussian posteriors,
and s2, t2 and the prior precisions lambda (one per item coordinate, ARD) are estimated,
so no regularisation grid is needed.  The monitored objective is the evidence lower
bound, which never decreases.  A new user is folded in by one E-step on their ratings,
optionally tempered: their likelihood raised to 1 / T (noise variance T s2), which
shrinks a few early ratings towards the item baseline (T is chosen on a cold-start
split of the training rows, see :func:`emapps.recsys.evaluate.choose_foldin_temperature`).
"""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import take_renamed_keywords
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.factor import factor_estep, factor_user_posteriors
from .io import Ratings, UserRows
from .recommender import RatingRecommender


@dataclass
class FactorParams:
    """q(b_i, w_i) = N(means[i], covariances[i]); prior precisions; t2; s2."""

    means: np.ndarray         # (I, 1 + K): E[b_i], E[w_i]
    covariances: np.ndarray   # (I, 1 + K, 1 + K)
    precisions: np.ndarray    # (1 + K,) prior precision of b and of each factor
    bias_var: float           # t2, prior variance of the user bias
    noise_var: float          # s2

    def moments(self) -> tuple:
        """The item moments the E-step kernel takes: E[b], E[w], E[v v^T], E[b v], E[b^2]
        with v = (1, w)."""
        n_items = self.means.shape[0]
        v_mean = np.column_stack([np.ones(n_items), self.means[:, 1:]])
        outer = np.einsum("nd,ne->nde", v_mean, v_mean)
        outer[:, 1:, 1:] += self.covariances[:, 1:, 1:]
        cross = self.means[:, :1] * v_mean
        cross[:, 1:] += self.covariances[:, 0, 1:]
        bias_square = self.means[:, 0] ** 2 + self.covariances[:, 0, 0]
        return (np.ascontiguousarray(self.means[:, 0]),
                np.ascontiguousarray(self.means[:, 1:]), outer, cross, bias_square)


class FactorEM:
    """Variational EM model of the driver's protocol over ``UserRows``."""

    def __init__(self, n_items, n_users, n_factors, precisions, init_scale, learn_prior):
        self.n_items, self.n_users, self.n_factors = n_items, n_users, n_factors
        self.precisions = np.asarray(precisions, dtype=float)
        self.init_scale = init_scale
        self.learn_prior = learn_prior

    def initial_params(self, rows: UserRows, rng) -> FactorParams:
        totals = np.bincount(rows.items, weights=rows.values, minlength=self.n_items)
        counts = np.bincount(rows.items, minlength=self.n_items)
        variance = max(float(rows.values.var()), 1e-3)
        means = np.column_stack([
            totals / (counts + self.precisions[0] * variance),
            rng.normal(scale=self.init_scale, size=(self.n_items, self.n_factors))])
        prior = np.diag(1.0 / self.precisions)  # q(f) starts at the prior's spread
        return FactorParams(means, np.repeat(prior[None], self.n_items, axis=0),
                            self.precisions, 0.1, variance)

    def e_step(self, params: FactorParams, rows: UserRows) -> dict:
        second, first, squares, counts, bias_moment, bound = factor_estep(
            rows.indptr, rows.items, rows.values, *params.moments(), params.bias_var,
            params.noise_var)
        return {"second": second, "first": first, "squares": squares, "counts": counts,
                "bias_moment": bias_moment, "loglik": bound,
                "weight": float(rows.values.shape[0])}

    def log_prior(self, params: FactorParams) -> float:
        """-sum_i KL(q(f_i) || N(0, diag(lambda)^-1)): the items' part of the bound."""
        lam = params.precisions
        dims = lam.shape[0]
        trace = np.einsum("d,ndd->", lam, params.covariances)
        quadratic = float(np.sum(params.means ** 2 * lam))
        log_dets = np.linalg.slogdet(params.covariances)[1]
        return -0.5 * (trace + quadratic - self.n_items * (dims + np.sum(np.log(lam)))
                       - float(np.sum(log_dets)))

    def m_step(self, params: FactorParams, stats: dict) -> FactorParams:
        second, first = stats["second"], stats["first"]
        free = np.r_[0, 2:second.shape[1]]  # augmented (1, c, z): the loading of c is 1
        s2 = params.noise_var
        precision = second[:, free][:, :, free] / s2 + np.diag(params.precisions)
        covariances = np.linalg.inv(precision)
        rhs = (first[:, free] - second[:, free, 1]) / s2
        means = np.einsum("nde,ne->nd", covariances, rhs)
        expected = np.concatenate([means[:, :1], np.ones((self.n_items, 1)), means[:, 1:]],
                                  axis=1)
        expected_outer = np.einsum("nd,ne->nde", expected, expected)
        expected_outer[np.ix_(np.arange(self.n_items), free, free)] += covariances
        residual = (stats["squares"] - 2.0 * np.einsum("nd,nd->n", first, expected)
                    + np.einsum("nde,nde->n", expected_outer, second))
        noise_var = max(float(residual.sum() / stats["weight"]), 1e-6)
        bias_var = max(float(stats["bias_moment"] / self.n_users), 1e-6)
        precisions = params.precisions
        if self.learn_prior:
            second_moments = means ** 2 + np.einsum("ndd->nd", covariances)
            precisions = self.n_items / np.maximum(second_moments.sum(axis=0), 1e-12)
        return FactorParams(means, covariances, precisions, bias_var, noise_var)


class FactorRecommender(RatingRecommender):
    """Rating prediction by factor analysis with missing entries, fitted by variational EM.

    ``reg_factors`` and ``reg_bias`` are the starting prior precisions of the loadings and
    item biases; with ``learn_prior`` (default) they are then estimated (ARD).
    ``foldin_temperature`` T >= 1 tempers the fold-in of new users (1: the exact E-step).
    Fitted attributes: ``params_`` (item posteriors, prior precisions, s2, t2),
    ``global_mean_``, ``user_factors_`` (posterior means of (c_u, z_u)), ``loglik_``
    (evidence lower bound), ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``,
    ``item_ids_``, ``rating_range_``.
    """

    def __init__(self, n_factors=10, *, reg_factors=200.0, reg_bias=5.0, learn_prior=True,
                 max_iter=30, tol=1e-6, init_scale=0.1, random_state=None, clip=True,
                 foldin_temperature=1.0, **renamed):
        self.n_factors = n_factors
        self.reg_factors = reg_factors
        self.reg_bias = reg_bias
        self.learn_prior = learn_prior
        self.max_iter = max_iter
        self.tol = tol
        self.init_scale = init_scale
        self.random_state = random_state
        self.clip = clip
        self.foldin_temperature = foldin_temperature
        take_renamed_keywords(self, renamed)

    def estimated_bytes(self, n_users: int, n_items: int) -> int:
        """About the memory a fit holds at its peak: each item's posterior covariance and
        second moments ((K + 1)^2 each), and the users' factors."""
        width = self.n_factors + 1
        return 8 * (3 * n_items * width * width + 4 * (n_users + n_items) * width)

    def fit(self, ratings: Ratings) -> "FactorRecommender":
        check_positive_int(self.n_factors, "n_factors")
        check_positive_int(self.max_iter, "max_iter")
        for name in ("reg_factors", "reg_bias", "foldin_temperature"):
            if not getattr(self, name) > 0:
                raise UserInputError(f"{name} must be positive; got {getattr(self, name)}")
        if len(ratings) == 0:
            raise UserInputError("no ratings to fit")
        known = (ratings.users >= 0) & (ratings.items >= 0)
        self.global_mean_ = float(ratings.values[known].mean())
        self.rating_range_ = (float(ratings.values.min()), float(ratings.values.max()))
        self.user_ids_, self.item_ids_ = ratings.user_ids, ratings.item_ids
        rows = UserRows.build(ratings.users[known], ratings.items[known],
                              ratings.values[known] - self.global_mean_, ratings.n_users)
        precisions = np.r_[self.reg_bias, np.full(self.n_factors, float(self.reg_factors))]
        model = FactorEM(ratings.n_items, ratings.n_users, self.n_factors, precisions,
                         self.init_scale, self.learn_prior)
        result = fit_em(model, rows, seed=self._seed_sequence(), max_iter=self.max_iter,
                        **self._em_options())
        self._keep(result)
        self.user_factors_ = self._posteriors(rows)
        self.feedback_ = rows
        return self

    def _keep(self, result) -> None:
        """Take a fit's parameters, record and the item moments the E-step reads."""
        self._keep_record(result)
        self.params_ = result.params
        self.moments_ = result.params.moments()

    def partial_fit(self, ratings: Ratings, max_iter: int = 5) -> "FactorRecommender":
        """Add ``ratings`` (by original ids: new users and items extend the model, a
        repeated (user, item) takes the new rating) and run ``max_iter`` EM iterations
        from the current parameters over every rating seen so far."""
        check_positive_int(max_iter, "max_iter")
        if not hasattr(self, "feedback_"):
            raise UserInputError("partial_fit needs a fitted model: call fit first")
        merged = self._training_ratings(offset=self.global_mean_).merged(ratings)
        p = self.params_
        n_new = merged.n_items - p.means.shape[0]
        prior = np.diag(1.0 / p.precisions)
        params = FactorParams(np.vstack([p.means, np.zeros((n_new, p.means.shape[1]))]),
                              np.concatenate([p.covariances,
                                              np.repeat(prior[None], n_new, axis=0)]),
                              p.precisions, p.bias_var, p.noise_var)
        rows = UserRows.build(merged.users, merged.items, merged.values - self.global_mean_,
                              merged.n_users)
        model = FactorEM(merged.n_items, merged.n_users, self.n_factors, p.precisions,
                         self.init_scale, self.learn_prior)
        result = fit_em(model, rows, init_params=params, max_iter=max_iter,
                        **self._em_options())
        self._keep(result)
        self.user_ids_, self.item_ids_ = merged.user_ids, merged.item_ids
        self.rating_range_ = (min(self.rating_range_[0], float(ratings.values.min())),
                              max(self.rating_range_[1], float(ratings.values.max())))
        self.user_factors_ = self._posteriors(rows)
        self.feedback_ = rows
        return self

    def _posteriors(self, rows: UserRows, temperature: float = 1.0) -> np.ndarray:
        p = self.params_
        return factor_user_posteriors(rows.indptr, rows.items, rows.values, *self.moments_,
                                      p.bias_var, temperature * p.noise_var)[0]

    def _finish(self, predictions):
        if self.clip:
            return np.clip(predictions, *self.rating_range_)
        return predictions

    def _expected(self, factors, items) -> np.ndarray:
        """mu + E[b_i] + E[c] + E[w_i]^T E[z] for rows of user factors and item codes."""
        means = self.params_.means[items]
        return (self.global_mean_ + means[:, 0] + factors[:, 0]
                + np.einsum("nk,nk->n", factors[:, 1:], means[:, 1:]))

    def predict_codes(self, users, items) -> np.ndarray:
        """Predicted ratings for user/item codes; an unknown user (-1) gets the item's
        mean, an unknown item the global mean."""
        users, items = np.asarray(users), np.asarray(items)
        prediction = np.full(users.shape, self.global_mean_)
        known_item = items >= 0
        prediction[known_item] += self.params_.means[items[known_item], 0]
        both = known_item & (users >= 0)
        prediction[both] = self._expected(self.user_factors_[users[both]], items[both])
        return self._finish(prediction)

    def scores(self, users) -> np.ndarray:
        """Expected ratings of every item for each user code: (len(users), I)."""
        users = np.asarray(users, dtype=np.int64)
        factors = self.user_factors_[users]
        means = self.params_.means
        return (self.global_mean_ + means[None, :, 0] + factors[:, :1]
                + factors[:, 1:] @ means[:, 1:].T)

    def explain_codes(self, user, item, n=5) -> dict:
        """Why ``item`` gets its predicted rating for ``user`` (codes).  The prediction is
        mu + E[b_i] + E[c_u] + sum_k E[w_ik] E[z_uk]: ``factors`` are its largest terms
        (ids 'item_bias', 'user_bias' or the factor index).  The user's posterior mean is
        linear in their ratings, P_u^-1 sum_j (y_j E[v_j] - E[b_j v_j]) / s2, so the user
        part also splits into one exact term per rated item j: ``items`` are the largest."""
        bias_mean, loading_mean, outer, cross, _ = self.moments_
        p, rows = self.params_, self.feedback_
        lo, hi = rows.indptr[user], rows.indptr[user + 1]
        rated, centred = rows.items[lo:hi], rows.values[lo:hi]
        prior = np.r_[1.0 / p.bias_var, np.ones(self.n_factors)]
        precision = np.diag(prior) + outer[rated].sum(axis=0) / p.noise_var
        evidence = (centred[:, None] * np.column_stack([np.ones(len(rated)),
                                                        loading_mean[rated]])
                    - cross[rated]) / p.noise_var
        target = np.r_[1.0, loading_mean[item]]
        support = evidence @ np.linalg.solve(precision, target)
        factors = self.user_factors_[user]
        terms = [("item_bias", float(bias_mean[item])), ("user_bias", float(factors[0]))]
        terms += [(k, float(loading_mean[item, k] * factors[1 + k]))
                  for k in range(self.n_factors)]
        terms.sort(key=lambda term: -term[1])
        top_items = np.argsort(-support, kind="stable")[:n]
        return {"score": float(self.predict_codes(np.array([user]), np.array([item]))[0]),
                "items": [(int(rated[k]), float(support[k])) for k in top_items],
                "factors": terms[:n]}

    def fold_in(self, items, values, temperature: float | None = None) -> np.ndarray:
        """A new user's posterior mean of (c_u, z_u) from their ratings: one E-step,
        items fixed, tempered by ``temperature`` (default ``foldin_temperature``)."""
        items = np.asarray(items, dtype=np.int64)
        keep = items >= 0
        rows = UserRows(np.array([0, int(keep.sum())], dtype=np.int64), items[keep],
                        np.asarray(values, dtype=np.float64)[keep] - self.global_mean_)
        if temperature is None:
            temperature = self.foldin_temperature
        return self._posteriors(rows, temperature)[0]

    def folded_scores(self, items, values) -> np.ndarray:
        """Predicted ratings of every item for a new user folded in from their ratings."""
        return self.predict_folded(self.fold_in(items, values),
                                   np.arange(self.params_.means.shape[0]))

    def predict_folded(self, factors, items) -> np.ndarray:
        """Predicted ratings of a folded-in user (``fold_in``'s result) for item codes."""
        items = np.asarray(items, dtype=np.int64)
        prediction = np.full(items.shape, self.global_mean_)
        known = items >= 0
        prediction[known] = self._expected(np.broadcast_to(factors, (int(known.sum()),
                                                                     factors.shape[0])),
                                           items[known])
        return self._finish(prediction)

    def _latent_vectors(self) -> tuple:
        """(item vectors, user vectors) for similarity: loadings and user factors (biases left out)."""
        return self.params_.means[:, 1:], self.user_factors_[:, 1:]

    # ---------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        p = self.params_
        self._save(path, "factor", {"means": p.means, "covariances": p.covariances,
                                    "precisions": p.precisions,
                                    "user_factors": self.user_factors_},
                   n_factors=self.n_factors, bias_var=p.bias_var, noise_var=p.noise_var,
                   global_mean=self.global_mean_, rating_range=list(self.rating_range_),
                   clip=self.clip, foldin_temperature=self.foldin_temperature)

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "FactorRecommender":
        model = cls(meta["n_factors"], clip=meta["clip"],
                    foldin_temperature=meta["foldin_temperature"])
        model.params_ = FactorParams(arrays["means"], arrays["covariances"],
                                     arrays["precisions"], meta["bias_var"],
                                     meta["noise_var"])
        model.moments_ = model.params_.moments()
        model.user_factors_ = arrays["user_factors"]
        model.global_mean_ = meta["global_mean"]
        model.rating_range_ = tuple(meta["rating_range"])
        model._restore(meta, arrays)
        return model
