"""``ImplicitFactorRecommender``: top-N from implicit feedback by probabilistic weighted
matrix factorisation fitted by EM.

p_ui ~ N(w_i^T x_u, 1 / c_ui) over every user-item entry (p = 1 with feedback, else 0;
c_ui = 1 + alpha * count), x_u ~ N(0, I / user_prior), w_i ~ N(0, I / item_prior).  The
users' factors are latent and integrated out (E-step: their Gaussian posteriors, see
:mod:`emapps.kernels.implicit`); the item factors are MAP estimates (M-step:
(item_prior I + sum_u c_ui E[x_u x_u^T]) w_i = sum_u c_ui p_ui E[x_u]).  This is the model
behind implicit ALS (Hu, Koren & Volinsky 2008), fitted by EM with the users' posterior
uncertainty; the monitored log posterior never decreases.
"""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import take_renamed_keywords
from ..core.validation import check_positive_int
from ..errors import UserInputError
from ..kernels.implicit import implicit_estep, implicit_user_means
from ..kernels.linalg import solve_packed
from .io import Ratings, UserRows
from .recommender import Recommender


@dataclass
class ImplicitParams:
    loadings: np.ndarray   # (I, K) item factors


class ImplicitEM:
    """EM model of the driver's protocol over ``UserRows`` whose values are alpha * count."""

    def __init__(self, n_items, n_factors, user_prior, item_prior, init_scale):
        self.n_items, self.n_factors = n_items, n_factors
        self.user_prior, self.item_prior = user_prior, item_prior
        self.init_scale = init_scale

    def initial_params(self, rows: UserRows, rng) -> ImplicitParams:
        return ImplicitParams(rng.normal(scale=self.init_scale,
                                         size=(self.n_items, self.n_factors)))

    def e_step(self, params: ImplicitParams, rows: UserRows) -> dict:
        item_second, item_first, user_moment, loglik = implicit_estep(
            rows.indptr, rows.items, rows.values, params.loadings, self.user_prior)
        return {"item_second": item_second, "item_first": item_first,
                "user_moment": user_moment, "loglik": loglik,
                "weight": float(rows.values.shape[0])}

    def log_prior(self, params: ImplicitParams) -> float:
        return -0.5 * self.item_prior * float(np.sum(params.loadings ** 2))

    def m_step(self, params: ImplicitParams, stats: dict) -> ImplicitParams:
        shared = stats["user_moment"] + self.item_prior * np.eye(self.n_factors)
        loadings, failed = solve_packed(stats["item_second"], shared, stats["item_first"])
        if failed >= 0:
            raise FloatingPointError(f"item {failed}: its factor update is not positive "
                                     "definite (non-finite statistics)")
        return ImplicitParams(loadings)


class ImplicitFactorRecommender(Recommender):
    """Top-N recommender for implicit feedback (probabilistic weighted MF by EM).

    Fitted attributes: ``item_factors_`` (I x K), ``user_factors_`` (posterior means),
    ``loglik_`` (log posterior), ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``,
    ``item_ids_``.
    """

    def __init__(self, n_factors=32, *, alpha=4.0, user_prior=5.0, item_prior=20.0,
                 max_iter=15, tol=1e-6, init_scale=0.01, random_state=None, **renamed):
        self.n_factors = n_factors
        self.alpha = alpha
        self.user_prior = user_prior
        self.item_prior = item_prior
        self.max_iter = max_iter
        self.tol = tol
        self.init_scale = init_scale
        self.random_state = random_state
        take_renamed_keywords(self, renamed)

    def fit(self, feedback: Ratings) -> "ImplicitFactorRecommender":
        check_positive_int(self.n_factors, "n_factors")
        check_positive_int(self.max_iter, "max_iter")
        for name in ("alpha", "user_prior", "item_prior"):
            if not getattr(self, name) > 0:
                raise UserInputError(f"{name} must be positive; got {getattr(self, name)}")
        model = ImplicitEM(feedback.n_items, self.n_factors, self.user_prior,
                           self.item_prior, self.init_scale)
        result, rows = self._fit_feedback(model, feedback, scale=self.alpha)
        self.item_factors_ = result.params.loadings
        self.user_factors_ = self._means(rows)
        return self

    def partial_fit(self, feedback: Ratings, max_iter: int = 5) -> "ImplicitFactorRecommender":
        """Add ``feedback`` (by original ids: new users and items extend the model, a
        repeated (user, item) takes the new count) and run ``max_iter`` EM iterations from
        the current item factors (new items start at 0) over all feedback seen so far."""
        check_positive_int(max_iter, "max_iter")
        if not hasattr(self, "feedback_"):
            raise UserInputError("partial_fit needs a fitted model: call fit first")
        merged = self._training_ratings(scale=self.alpha).merged(feedback)
        loadings = np.vstack([self.item_factors_, np.zeros(
            (merged.n_items - self.item_factors_.shape[0], self.n_factors))])
        model = ImplicitEM(merged.n_items, self.n_factors, self.user_prior,
                           self.item_prior, self.init_scale)
        result, rows = self._fit_feedback(model, merged, scale=self.alpha,
                                          init_params=ImplicitParams(loadings),
                                          max_iter=max_iter)
        self.item_factors_ = result.params.loadings
        self.user_factors_ = self._means(rows)
        return self

    def _means(self, rows: UserRows) -> np.ndarray:
        loadings = self.item_factors_
        return implicit_user_means(rows.indptr, rows.items, rows.values, loadings,
                                   loadings.T @ loadings, self.user_prior)

    def scores(self, users) -> np.ndarray:
        """Expected p_ui for every item, one row per user code."""
        return self.user_factors_[np.asarray(users, dtype=np.int64)] @ self.item_factors_.T

    def explain_codes(self, user, item, n=5) -> dict:
        """Why ``item`` scores what it does for ``user`` (codes).  The score is exactly
        sum_j (1 + a_uj) w_i^T P_u^-1 w_j over the user's feedback items j (Hu et al. 2008):
        the ``n`` largest terms are the supporting items; ``factors`` are the largest
        terms w_ik E[x_uk] of the score over latent factors."""
        rows, w = self.feedback_, self.item_factors_
        lo, hi = rows.indptr[user], rows.indptr[user + 1]
        mine, extra = rows.items[lo:hi], rows.values[lo:hi]
        precision = (self.user_prior * np.eye(self.n_factors) + w.T @ w
                     + (w[mine] * extra[:, None]).T @ w[mine])
        direction = np.linalg.solve(precision, w[item])
        support = (1.0 + extra) * (w[mine] @ direction)
        factor_terms = w[item] * self.user_factors_[user]
        top_items = np.argsort(-support, kind="stable")[:n]
        top_factors = np.argsort(-factor_terms, kind="stable")[:n]
        return {"score": float(self.user_factors_[user] @ w[item]),
                "items": [(int(mine[k]), float(support[k])) for k in top_items],
                "factors": [(int(k), float(factor_terms[k])) for k in top_factors]}

    def fold_in(self, items, counts=None) -> np.ndarray:
        """A new user's posterior mean factors from their feedback: one E-step."""
        return self._means(UserRows.single(items, counts, scale=self.alpha))[0]

    def folded_scores(self, items, counts=None) -> np.ndarray:
        """Scores of every item for a new user folded in from their feedback."""
        return self.item_factors_ @ self.fold_in(items, counts)

    def _latent_vectors(self) -> tuple:
        """(item vectors, user vectors) for similarity: item and user factors."""
        return self.item_factors_, self.user_factors_

    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        self._save(path, "implicit", {"item_factors": self.item_factors_,
                                      "user_factors": self.user_factors_},
                   n_factors=self.n_factors, alpha=self.alpha, user_prior=self.user_prior,
                   item_prior=self.item_prior)

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "ImplicitFactorRecommender":
        model = cls(meta["n_factors"], alpha=meta["alpha"], user_prior=meta["user_prior"],
                    item_prior=meta["item_prior"])
        model.item_factors_, model.user_factors_ = arrays["item_factors"], arrays["user_factors"]
        model._restore(meta, arrays)
        return model
