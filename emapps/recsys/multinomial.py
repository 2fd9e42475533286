"""``MixtureRecommender``: top-N from a mixture of multinomials over users' item counts.

Each user's feedback row x_u is drawn from one of K user classes:
p(x_u) = sum_k pi_k prod_i p_ki^{x_ui} (up to the multinomial coefficient).  EM through the
core driver (the E-step is the kernel layer's multinomial mixture pass); a user's scores
are sum_k p(k | x_u) p_ki, their class posterior mixing the classes' item distributions.
A Dirichlet(1 + ``smoothing``) prior on each p_k keeps unseen items possible (MAP-EM).
"""

from dataclasses import dataclass

import numpy as np

from ..atomic import atomic_path, write_json
from ..errors import UserInputError
from ..kernels.discrete import multinomial_mixture_pass, multinomial_responsibilities
from ..validation import check_positive_int
from .io import Ratings, UserRows
from .topn import TopN


@dataclass
class MultinomialParams:
    weights: np.ndarray   # (K,) class weights pi_k
    probs: np.ndarray     # (K, I) item distributions p_k


class MultinomialEM:
    """MAP-EM model of the driver's protocol over ``UserRows`` of counts."""

    def __init__(self, n_items, n_classes, smoothing):
        self.n_items, self.n_classes, self.smoothing = n_items, n_classes, smoothing

    def initial_params(self, rows: UserRows, rng) -> MultinomialParams:
        return MultinomialParams(np.full(self.n_classes, 1.0 / self.n_classes),
                                 rng.dirichlet(np.ones(self.n_items), size=self.n_classes))

    def e_step(self, params: MultinomialParams, rows: UserRows) -> dict:
        nk, sx, loglik = multinomial_mixture_pass(
            rows.indptr, rows.items, rows.values, np.empty(0), np.log(params.weights),
            np.log(params.probs))
        return {"nk": nk, "sx": sx, "loglik": loglik,
                "weight": float(rows.indptr.shape[0] - 1)}

    def log_prior(self, params: MultinomialParams) -> float:
        return self.smoothing * float(np.sum(np.log(params.probs)))

    def m_step(self, params: MultinomialParams, stats: dict) -> MultinomialParams:
        weights = np.maximum(stats["nk"], 1e-12)
        probs = stats["sx"] + self.smoothing
        return MultinomialParams(weights / weights.sum(),
                                 probs / probs.sum(axis=1, keepdims=True))


class MixtureRecommender(TopN):
    """Top-N recommender: mixture of multinomials over users' feedback counts.

    Fitted attributes: ``weights_`` (K,), ``probs_`` (K x I), ``user_classes_`` (U x K,
    p(k | x_u)), ``loglik_``, ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``,
    ``item_ids_``.
    """

    def __init__(self, n_classes=20, *, smoothing=0.1, max_iter=100, tol=1e-6, seed=None):
        self.n_classes = n_classes
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed

    def fit(self, feedback: Ratings) -> "MixtureRecommender":
        check_positive_int(self.n_classes, "n_classes")
        check_positive_int(self.max_iter, "max_iter")
        if not self.smoothing > 0:
            raise UserInputError(f"smoothing must be positive; got {self.smoothing}")
        model = MultinomialEM(feedback.n_items, self.n_classes, self.smoothing)
        result, rows = self._fit_feedback(model, feedback)
        self.weights_, self.probs_ = result.params.weights, result.params.probs
        self.user_classes_ = self._classes(rows)
        return self

    def _classes(self, rows: UserRows) -> np.ndarray:
        return multinomial_responsibilities(rows.indptr, rows.items, rows.values,
                                            np.log(self.weights_), np.log(self.probs_))

    def scores(self, users) -> np.ndarray:
        """sum_k p(k | x_u) p_ki for every item, one row per user code."""
        return self.user_classes_[np.asarray(users, dtype=np.int64)] @ self.probs_

    def folded_scores(self, items, counts=None) -> np.ndarray:
        """Scores of every item for a new user, from their class posterior."""
        return self._classes(UserRows.single(items, counts))[0] @ self.probs_

    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        with atomic_path(path, suffix=".npz") as temporary:
            np.savez(temporary, weights=self.weights_, probs=self.probs_,
                     user_classes=self.user_classes_)
        write_json(f"{path}.json", self._saved_meta("multinomial", n_classes=self.n_classes,
                                                    smoothing=self.smoothing))

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "MixtureRecommender":
        model = cls(meta["n_classes"], smoothing=meta["smoothing"])
        model.weights_, model.probs_ = arrays["weights"], arrays["probs"]
        model.user_classes_ = arrays["user_classes"]
        model._restore_ids(meta)
        return model
