"""``PoissonRecommender``: Poisson (KL) matrix factorisation in its EM form.

n_ui ~ Poisson(sum_k theta_uk beta_ik).  Splitting each count over the K factors,
n_uik | n_ui ~ Multinomial(n_ui, q_k ~ theta_uk beta_ik), makes EM exact (the KL-NMF
multiplicative updates, Lee & Seung 2001, as EM; Cemgil 2009): the E-step is the aspect
model's (:mod:`emapps.kernels.aspect`, same posterior), and the M-step updates theta
then beta (ECM) with Gamma(shape, rate) priors, a MAP estimate.  The log posterior, up to
constants, never decreases.
"""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import take_renamed_keywords
from ..core.validation import check_positive_int
from ..errors import UserInputError
from ..kernels.aspect import aspect_estep
from .io import Ratings, UserRows
from .recommender import Recommender


@dataclass
class PoissonParams:
    theta: np.ndarray   # (U, K) user intensities
    beta: np.ndarray    # (I, K) item intensities


class PoissonEM:
    """EM model of the driver's protocol over ``UserRows`` of counts."""

    def __init__(self, n_users, n_items, n_factors, shape, rate):
        self.n_users, self.n_items, self.n_factors = n_users, n_items, n_factors
        self.shape, self.rate = shape, rate

    def initial_params(self, rows: UserRows, rng) -> PoissonParams:
        scale = np.sqrt(rows.values.sum() / (self.n_users * self.n_items * self.n_factors))
        return PoissonParams(rng.gamma(1.0, scale, size=(self.n_users, self.n_factors)),
                             rng.gamma(1.0, scale, size=(self.n_items, self.n_factors)))

    def e_step(self, params: PoissonParams, rows: UserRows) -> dict:
        item_counts, user_counts, log_rates = aspect_estep(
            rows.indptr, rows.items, rows.values, np.log(params.theta), np.log(params.beta))
        total_rate = float(params.theta.sum(axis=0) @ params.beta.sum(axis=0))
        return {"item_counts": item_counts, "user_counts": user_counts,
                "loglik": log_rates - total_rate, "weight": float(rows.values.sum())}

    def log_prior(self, params: PoissonParams) -> float:
        """Gamma(shape, rate) log densities of every intensity, up to constants."""
        total = 0.0
        for values in (params.theta, params.beta):
            total += float(np.sum((self.shape - 1.0) * np.log(values) - self.rate * values))
        return total

    def m_step(self, params: PoissonParams, stats: dict) -> PoissonParams:
        theta = ((stats["user_counts"] + self.shape - 1.0)
                 / (params.beta.sum(axis=0) + self.rate))
        theta = np.maximum(theta, 1e-12)
        beta = ((stats["item_counts"] + self.shape - 1.0)
                / (theta.sum(axis=0) + self.rate))
        return PoissonParams(theta, np.maximum(beta, 1e-12))


class PoissonRecommender(Recommender):
    """Top-N recommender for implicit counts by Poisson matrix factorisation (MAP-EM).

    Fitted attributes: ``theta_`` (U x K), ``beta_`` (I x K), ``loglik_`` (log posterior),
    ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``, ``item_ids_``.
    """

    def __init__(self, n_factors=20, *, shape=1.1, rate=1.0, max_iter=100, tol=1e-6,
                 random_state=None, **renamed):
        self.n_factors = n_factors
        self.shape = shape
        self.rate = rate
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        take_renamed_keywords(self, renamed)

    def fit(self, feedback: Ratings) -> "PoissonRecommender":
        check_positive_int(self.n_factors, "n_factors")
        check_positive_int(self.max_iter, "max_iter")
        if not (self.shape >= 1.0 and self.rate >= 0.0):
            raise UserInputError("the Gamma prior needs shape >= 1 and rate >= 0")
        model = PoissonEM(feedback.n_users, feedback.n_items, self.n_factors, self.shape,
                          self.rate)
        result, _ = self._fit_feedback(model, feedback)
        self.theta_, self.beta_ = result.params.theta, result.params.beta
        return self

    def scores(self, users) -> np.ndarray:
        """Expected counts of every item, one row per user code."""
        return self.theta_[np.asarray(users, dtype=np.int64)] @ self.beta_.T

    def explain_codes(self, user, item, n=5) -> dict:
        """Why ``item`` scores what it does for ``user`` (codes).  The score is
        sum_k theta_uk beta_ik: ``factors`` are its largest terms.  At EM's fixed point
        theta_uk = (sum_j n_uj q_ujk + shape - 1) / (sum_i beta_ik + rate), with q_uj the
        split of the user's count of item j over the factors, so the score also splits
        into one term per feedback item j, sum_k beta_ik n_uj q_ujk / (sum_i beta_ik +
        rate) (the prior's share, (shape - 1) terms, is left out): ``items`` are the
        largest."""
        rows = self.feedback_
        lo, hi = rows.indptr[user], rows.indptr[user + 1]
        mine, counts = rows.items[lo:hi], rows.values[lo:hi]
        theta, beta = self.theta_[user], self.beta_
        split = theta * beta[mine]
        split /= split.sum(axis=1, keepdims=True)
        weight = beta[item] / (beta.sum(axis=0) + self.rate)
        support = counts * (split @ weight)
        factor_terms = theta * beta[item]
        top_items = np.argsort(-support, kind="stable")[:n]
        top_factors = np.argsort(-factor_terms, kind="stable")[:n]
        return {"score": float(factor_terms.sum()),
                "items": [(int(mine[k]), float(support[k])) for k in top_items],
                "factors": [(int(k), float(factor_terms[k])) for k in top_factors]}

    def _latent_vectors(self) -> tuple:
        """(item vectors, user vectors) for similarity: item and user rates per factor."""
        return self.beta_, self.theta_

    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        self._save(path, "poisson", {"theta": self.theta_, "beta": self.beta_},
                   n_factors=self.n_factors, shape=self.shape, rate=self.rate)

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "PoissonRecommender":
        model = cls(meta["n_factors"], shape=meta["shape"], rate=meta["rate"])
        model.theta_, model.beta_ = arrays["theta"], arrays["beta"]
        model._restore(meta, arrays)
        return model
