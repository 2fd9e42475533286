"""``MixtureRecommender``: top-N from a mixture of multinomials over users' item counts.

Each user's feedback row x_u is drawn from one of K user classes:
p(x_u) = sum_k pi_k prod_i p_ki^{x_ui} (up to the multinomial coefficient).  EM through the
core driver (the E-step is the kernel layer's multinomial mixture pass); a user's scores
are sum_k p(k | x_u) p_ki, their class posterior mixing the classes' item distributions.
A Dirichlet(1 + ``smoothing``) prior on each p_k keeps unseen items possible (MAP-EM).
"""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import take_renamed_keywords
from ..core.validation import check_positive_int
from ..errors import UserInputError
from ..kernels.discrete import multinomial_mixture_pass, multinomial_responsibilities
from .io import Ratings, UserRows
from .recommender import Recommender


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


class MixtureRecommender(Recommender):
    """Top-N recommender: mixture of multinomials over users' feedback counts.

    Fitted attributes: ``weights_`` (K,), ``probs_`` (K x I), ``user_classes_`` (U x K,
    p(k | x_u)), ``loglik_``, ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``,
    ``item_ids_``.
    """

    def __init__(self, n_classes=20, *, smoothing=0.1, max_iter=100, tol=1e-6,
                 random_state=None, **renamed):
        self.n_classes = n_classes
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        take_renamed_keywords(self, renamed)

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

    def explain_codes(self, user, item, n=5) -> dict:
        """Why ``item`` is recommended to ``user`` (codes).  The score is
        sum_k p(k | x_u) p_ki: ``factors`` are the classes with the largest terms.  A
        feedback item j adds n_uj log p_kj to class k's log posterior, so its support is
        the evidence it gives the classes behind the score over an average class,
        n_uj sum_k share_k (log p_kj - mean_k' log p_k'j), with share_k the class's part
        of the score: ``items`` are the largest."""
        rows = self.feedback_
        lo, hi = rows.indptr[user], rows.indptr[user + 1]
        mine, counts = rows.items[lo:hi], rows.values[lo:hi]
        classes = self.user_classes_[user]
        terms = classes * self.probs_[:, item]
        shares = terms / terms.sum()
        log_probs = np.log(self.probs_[:, mine])           # (K, feedback items)
        support = counts * (shares @ log_probs - log_probs.mean(axis=0))
        top_items = np.argsort(-support, kind="stable")[:n]
        top_classes = np.argsort(-terms, kind="stable")[:n]
        return {"score": float(terms.sum()),
                "items": [(int(mine[k]), float(support[k])) for k in top_items],
                "factors": [(int(k), float(terms[k])) for k in top_classes]}

    def folded_scores(self, items, counts=None) -> np.ndarray:
        """Scores of every item for a new user, from their class posterior."""
        return self._classes(UserRows.single(items, counts))[0] @ self.probs_

    def _latent_vectors(self) -> tuple:
        """(item vectors, user vectors) for similarity: P(item | class) and P(class | user)."""
        return self.probs_.T, self.user_classes_

    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        self._save(path, "multinomial", {"weights": self.weights_, "probs": self.probs_,
                                         "user_classes": self.user_classes_},
                   n_classes=self.n_classes, smoothing=self.smoothing)

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "MixtureRecommender":
        model = cls(meta["n_classes"], smoothing=meta["smoothing"])
        model.weights_, model.probs_ = arrays["weights"], arrays["probs"]
        model.user_classes_ = arrays["user_classes"]
        model._restore(meta, arrays)
        return model
