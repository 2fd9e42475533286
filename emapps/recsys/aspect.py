"""``AspectRecommender``: top-N recommendation with the aspect model (pLSA).

P(i | u) = sum_z P(z | u) P(i | z), fitted to implicit feedback counts by (tempered) EM
through the core driver (Hofmann 2004).  ``temperature`` beta < 1 flattens the E-step
posteriors, Hofmann's tempered EM, which regularises; the driver then monitors the tempered
free energy, which never decreases.  A new user is folded in by EM on P(z | u) with the
topics P(i | z) held fixed.
"""

from dataclasses import dataclass

import numpy as np

from ..core.estimator import take_renamed_keywords
from ..core.validation import check_positive_int
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.aspect import aspect_estep
from .io import Ratings, UserRows
from .recommender import Recommender

#: added to every expected count in the M-step so no probability becomes exactly 0
SMOOTHING = 1e-9


@dataclass
class AspectParams:
    theta: np.ndarray   # (U, K) P(z | u)
    phi: np.ndarray     # (I, K) P(i | z), columns sum to 1


class AspectEM:
    """Tempered EM for the aspect model over ``UserRows`` (``fixed_phi``: fold-in)."""

    def __init__(self, n_users, n_items, n_topics, temperature, fixed_phi=None):
        self.n_users, self.n_items, self.n_topics = n_users, n_items, n_topics
        self.temperature = temperature
        self.fixed_phi = fixed_phi

    def initial_params(self, rows: UserRows, rng) -> AspectParams:
        theta = rng.dirichlet(np.ones(self.n_topics), size=self.n_users)
        if self.fixed_phi is not None:
            return AspectParams(theta, self.fixed_phi)
        return AspectParams(theta, rng.dirichlet(np.ones(self.n_items), size=self.n_topics).T)

    def e_step(self, params: AspectParams, rows: UserRows) -> dict:
        topic_item, user_topic, energy = aspect_estep(
            rows.indptr, rows.items, rows.values, np.log(params.theta), np.log(params.phi),
            self.temperature)
        return {"topic_item": topic_item, "user_topic": user_topic, "loglik": energy,
                "weight": float(rows.values.sum())}

    def m_step(self, params: AspectParams, stats: dict) -> AspectParams:
        theta = stats["user_topic"] + SMOOTHING
        theta /= theta.sum(axis=1, keepdims=True)
        if self.fixed_phi is not None:
            return AspectParams(theta, self.fixed_phi)
        phi = stats["topic_item"] + SMOOTHING
        return AspectParams(theta, phi / phi.sum(axis=0, keepdims=True))


class AspectRecommender(Recommender):
    """pLSA recommender for implicit feedback (counts or 0/1).

    Fitted attributes: ``theta_`` (U x K, P(z | u)), ``phi_`` (I x K, P(i | z)),
    ``loglik_`` (free energy), ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``,
    ``item_ids_``.
    """

    def __init__(self, n_topics=20, *, temperature=0.8, max_iter=60, tol=1e-6,
                 random_state=None, **renamed):
        self.n_topics = n_topics
        self.temperature = temperature
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        take_renamed_keywords(self, renamed)

    def _check(self):
        check_positive_int(self.n_topics, "n_topics")
        check_positive_int(self.max_iter, "max_iter")
        if not 0.0 < self.temperature <= 1.0:
            raise UserInputError(f"temperature must be in (0, 1]; got {self.temperature}")

    def fit(self, feedback: Ratings) -> "AspectRecommender":
        self._check()
        model = AspectEM(feedback.n_users, feedback.n_items, self.n_topics, self.temperature)
        result, rows = self._fit_feedback(model, feedback)
        self.theta_, self.phi_ = result.params.theta, result.params.phi
        return self

    def scores(self, users) -> np.ndarray:
        """P(i | u) for every item, one row per user code."""
        return self.theta_[np.asarray(users, dtype=np.int64)] @ self.phi_.T

    def explain_codes(self, user, item, n=5) -> dict:
        """Why ``item`` is recommended to ``user`` (codes): ``factors`` are the latent
        classes z with the largest shares P(z | u) P(i | z) / P(i | u); ``items`` are the
        user's feedback items most tied to those classes, scored by
        sum_z share_z P(z | u, j)."""
        theta, phi, rows = self.theta_[user], self.phi_, self.feedback_
        joint = theta * phi[item]
        shares = joint / joint.sum()
        mine = rows.items[rows.indptr[user]:rows.indptr[user + 1]]
        posterior = theta * phi[mine]
        posterior /= posterior.sum(axis=1, keepdims=True)
        support = posterior @ shares
        top_items = np.argsort(-support, kind="stable")[:n]
        top_classes = np.argsort(-shares, kind="stable")[:n]
        return {"score": float(joint.sum()),
                "items": [(int(mine[k]), float(support[k])) for k in top_items],
                "factors": [(int(z), float(shares[z])) for z in top_classes]}

    def fold_in(self, items, counts=None, max_iter=30) -> np.ndarray:
        """A new user's P(z | u) by EM with the topics fixed."""
        rows = UserRows.single(items, counts)
        model = AspectEM(1, self.phi_.shape[0], self.n_topics, self.temperature,
                         fixed_phi=self.phi_)
        return fit_em(model, rows, seed=self._seed_sequence(), max_iter=max_iter,
                      **self._em_options()).params.theta[0]

    def folded_scores(self, items, counts=None) -> np.ndarray:
        """P(i | u) of every item for a new user folded in from their feedback."""
        return self.phi_ @ self.fold_in(items, counts)

    def _latent_vectors(self) -> tuple:
        """(item vectors, user vectors) for similarity: P(item | topic) and P(topic | user)."""
        return self.phi_, self.theta_

    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        self._save(path, "aspect", {"theta": self.theta_, "phi": self.phi_},
                   n_topics=self.n_topics, temperature=self.temperature)

    @classmethod
    def from_saved(cls, meta: dict, arrays) -> "AspectRecommender":
        model = cls(meta["n_topics"], temperature=meta["temperature"])
        model.theta_, model.phi_ = arrays["theta"], arrays["phi"]
        model._restore(meta, arrays)
        return model

