"""Top-N recommendation from any model's score matrix, and the protocol's ranking metrics."""

import numpy as np
from scipy import sparse

from ..io.outputs import atomic_path, write_json
from ..em import fit_em
from ..errors import UserInputError
from .io import Ratings, UserRows


class TopN:
    """Mixin for every recommender: fitting through the driver on checked feedback,
    ``recommend`` from ``scores(users) -> (len(users), I)``, saving with the training rows
    and ids, and per-iteration progress on stderr when ``verbose`` is set."""

    verbose = False

    def _em_options(self) -> dict:
        """The driver's settings this recommender fits with."""
        return {"tol": self.tol, "tol_on": "mean", "warn": False, "verbose": self.verbose}

    def _fit_feedback(self, model, feedback: Ratings, scale: float = 1.0, init_params=None,
                      max_iter=None):
        """Fit ``model`` by EM (this recommender's seed, tol and max_iter unless given; from
        ``init_params`` when given) to the feedback's user rows (values x ``scale``); keep
        the run's record; return (result, rows)."""
        if len(feedback) == 0:
            raise UserInputError("no feedback to fit")
        if np.any(feedback.values < 0):
            raise UserInputError("implicit feedback must be counts >= 0")
        known = (feedback.users >= 0) & (feedback.items >= 0)
        rows = UserRows.build(feedback.users[known], feedback.items[known],
                              scale * feedback.values[known], feedback.n_users)
        result = fit_em(model, rows, seed=self.seed, init_params=init_params,
                        max_iter=self.max_iter if max_iter is None else max_iter,
                        **self._em_options())
        self._keep_record(result)
        self.user_ids_, self.item_ids_ = feedback.user_ids, feedback.item_ids
        self.feedback_ = rows
        return result, rows

    def _keep_record(self, result) -> None:
        """The fit's record: ``result_``, ``loglik_``, ``trace_``, ``n_iter_``,
        ``converged_``, ``seed_``."""
        self.result_, self.seed_ = result, result.seed
        self.loglik_, self.trace_ = result.loglik, list(result.trace)
        self.n_iter_, self.converged_ = result.n_iter, result.converged

    def _training_ratings(self, offset: float = 0.0, scale: float = 1.0) -> Ratings:
        """The training rows as ``Ratings`` by this model's ids, values / ``scale`` +
        ``offset`` (undoing how they were stored)."""
        rows = self.feedback_
        users = np.repeat(np.arange(len(rows.indptr) - 1), np.diff(rows.indptr))
        return Ratings(users, rows.items, rows.values / scale + offset, self.user_ids_,
                       self.item_ids_)

    def _save(self, path, kind: str, arrays: dict, **settings) -> None:
        """``path`` (.npz: ``arrays`` and the training rows) and ``path`` + '.json'
        (``settings``, ids and the fit's record); no pickle."""
        rows = self.feedback_
        with atomic_path(path, suffix=".npz") as temporary:
            np.savez(temporary, feedback_indptr=rows.indptr, feedback_items=rows.items,
                     feedback_values=rows.values, **arrays)
        write_json(f"{path}.json", {
            "model": kind, **settings, "user_ids": self.user_ids_.tolist(),
            "item_ids": self.item_ids_.tolist(), "loglik": self.loglik_,
            "n_iter": self.n_iter_, "seed": self.seed_})

    def _restore(self, meta: dict, arrays) -> None:
        """Ids, record and training rows of a saved model."""
        self.user_ids_ = np.array(meta["user_ids"], dtype=str)
        self.item_ids_ = np.array(meta["item_ids"], dtype=str)
        self.loglik_, self.n_iter_, self.seed_ = meta["loglik"], meta["n_iter"], meta["seed"]
        self.feedback_ = UserRows(arrays["feedback_indptr"], arrays["feedback_items"],
                                  arrays["feedback_values"])

    def recommend(self, users, n=10, filter_seen=True, seen=None) -> np.ndarray:
        """Top-``n`` item codes, best first, for one user code (a 1-D result) or many (a
        row each).  ``filter_seen`` leaves out the items in the user's training rows;
        ``seen`` (a users x items CSR matrix, e.g. all their ratings) leaves those out too."""
        single = np.ndim(users) == 0
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        scores = self.scores(users)
        if filter_seen:
            rows = self.feedback_
            trained = sparse.csr_matrix((np.ones(rows.items.shape[0]), rows.items,
                                         rows.indptr), shape=(len(rows.indptr) - 1,
                                                              scores.shape[1]))
            scores[trained[users].nonzero()] = -np.inf
        if seen is not None:
            scores[seen[users].nonzero()] = -np.inf
        n = min(n, scores.shape[1])
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return top[0] if single else top


def ranking_metrics(recommended: np.ndarray, relevant: dict, n_items: int, k: int = 10) -> dict:
    """P@k, R@k, NDCG@k (binary gains, ideal DCG of min(k, |rel|) hits), MAP@k (normalised
    by min(k, |rel|)), HR@k averaged over users with relevant items; catalogue coverage.
    ``recommended`` rows are user codes; ``relevant`` maps a user code to its item set."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    names = [f"{metric}@{k}" for metric in ("P", "R", "NDCG", "MAP", "HR")]
    totals = dict.fromkeys(names, 0.0)
    for user, items in relevant.items():
        hits = np.array([item in items for item in recommended[user, :k]], dtype=float)
        ideal = min(k, len(items))
        precision_at = np.cumsum(hits) / np.arange(1, k + 1)
        values = (hits.sum() / k, hits.sum() / len(items),
                  (hits * discount).sum() / discount[:ideal].sum(),
                  (precision_at * hits).sum() / ideal, float(hits.any()))
        for name, value in zip(names, values):
            totals[name] += value
    metrics = {name: value / max(len(relevant), 1) for name, value in totals.items()}
    metrics["coverage"] = len(np.unique(recommended[:, :k])) / n_items
    metrics["users"] = len(relevant)
    return metrics
