"""The base of every recommender: users and items by their own ids, top-N from any
model's score matrix, similar items and users, saving; and the ranking metrics.

Public methods take and return the ids of the ratings file (as strings: ``"1"`` and
``1`` are the same user).  An id the model was not fitted on is an error
(:class:`UnknownIdError`) unless ``unknown="fallback"``: a prediction then falls back
to the item's mean (unknown user) or the global mean (unknown item), and a
recommendation for an unknown user to the most popular training items.  The ``*_codes``
methods work on the model's internal codes 0..U-1 and 0..I-1.
"""

import numpy as np
from scipy import sparse

from ..core.estimator import Estimator
from ..em import fit_em
from ..errors import UserInputError
from ..io.model_files import write_model
from .io import Ratings, UserRows

#: the format of saved recommenders (emapps.io.model_files)
MODEL_FORMAT = "emapps.recsys/1"
#: how an unknown user or item id is handled
UNKNOWN = ("error", "fallback")


class UnknownIdError(UserInputError, KeyError):
    """A user or item id the model was not fitted on."""

    def __str__(self):
        return str(self.args[0])


class Recommender(Estimator):
    """Fitting through the driver on checked feedback, ids in and out, ``recommend`` from
    ``scores(user codes) -> (len(users), I)``, saving with the training rows and ids, and
    per-iteration progress on stderr when ``verbose`` is set (and ``progress()`` called
    after each EM iteration when it is set)."""

    verbose = False
    progress = None
    _fitted_attribute = "feedback_"

    def _em_options(self) -> dict:
        """The driver's settings this recommender fits with."""
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise UserInputError(f"tol must be a number >= 0; got {self.tol!r}")
        callback = None if self.progress is None else (lambda *_: self.progress())
        return {"tol": self.tol, "tol_on": "mean", "warn": False, "verbose": self.verbose,
                "callback": callback}

    #: float64 arrays of (users + items) x size that the fit holds at once (most models)
    _arrays_per_size = 6

    def estimated_bytes(self, n_users: int, n_items: int) -> int:
        """About the memory a fit of ``n_users`` x ``n_items`` holds at its peak."""
        size = self.get_params()[self._size_parameter()]
        return 8 * self._arrays_per_size * (n_users + n_items) * size

    def _size_parameter(self) -> str:
        return next(iter(self._get_param_names()))   # the first parameter: K

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
        result = fit_em(model, rows, seed=self._seed_sequence(), init_params=init_params,
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
        """One .npz at ``path``: ``arrays``, the training rows, and as its metadata the
        ``settings``, ids and the fit's record (see emapps.io.model_files); no pickle."""
        rows = self.feedback_
        write_model(path, MODEL_FORMAT, {
            "model": kind, **settings, "user_ids": self.user_ids_.tolist(),
            "item_ids": self.item_ids_.tolist(), "loglik": self.loglik_,
            "n_iter": self.n_iter_, "seed": self.seed_},
            {"feedback_indptr": rows.indptr, "feedback_items": rows.items,
             "feedback_values": rows.values, **arrays})

    def _restore(self, meta: dict, arrays) -> None:
        """Ids, record and training rows of a saved model."""
        self.user_ids_ = np.array(meta["user_ids"], dtype=str)
        self.item_ids_ = np.array(meta["item_ids"], dtype=str)
        self.loglik_, self.n_iter_, self.seed_ = meta["loglik"], meta["n_iter"], meta["seed"]
        self.feedback_ = UserRows(arrays["feedback_indptr"], arrays["feedback_items"],
                                  arrays["feedback_values"])

    # ---------------------------------------------------------------- ids
    def _index(self, which: str) -> dict:
        cache = self.__dict__.setdefault("_id_index", {})
        ids = self.user_ids_ if which == "user" else self.item_ids_
        if cache.get(which, (None,))[0] is not ids:
            cache[which] = (ids, {value: code for code, value in enumerate(ids.tolist())})
        return cache[which][1]

    def _codes(self, which: str, ids, unknown: str) -> np.ndarray:
        self._check_fitted()
        if unknown not in UNKNOWN:
            raise UserInputError(f"unknown must be one of {', '.join(UNKNOWN)}; got {unknown!r}")
        index = self._index(which)
        ids = [str(value) for value in np.atleast_1d(np.asarray(ids, dtype=object)).tolist()]
        codes = np.array([index.get(value, -1) for value in ids], dtype=np.int64)
        if unknown == "error" and (codes < 0).any():
            missing = sorted({value for value, code in zip(ids, codes) if code < 0})
            shown = ", ".join(missing[:5]) + (f" ({len(missing)} in all)" if len(missing) > 5
                                               else "")
            raise UnknownIdError(f"unknown {which} id(s): {shown}; the model was not fitted "
                                 f"on them (unknown='fallback' gives the fallback instead)")
        return codes

    def user_codes(self, users, unknown: str = "error") -> np.ndarray:
        """Internal codes of user ids (-1 for an unknown id under ``unknown='fallback'``)."""
        return self._codes("user", users, unknown)

    def item_codes(self, items, unknown: str = "error") -> np.ndarray:
        """Internal codes of item ids (-1 for an unknown id under ``unknown='fallback'``)."""
        return self._codes("item", items, unknown)

    def _seen_matrix(self, seen) -> sparse.csr_matrix | None:
        """Users x items (codes) matrix of ``seen`` ratings, ids the model does not know
        left out; ``seen`` is Ratings or already such a matrix."""
        if seen is None or sparse.issparse(seen):
            return seen
        users = self.user_codes(seen.user_ids[seen.users], "fallback")
        items = self.item_codes(seen.item_ids[seen.items], "fallback")
        keep = (users >= 0) & (items >= 0)
        return sparse.csr_matrix((np.ones(int(keep.sum())), (users[keep], items[keep])),
                                 shape=(len(self.user_ids_), len(self.item_ids_)))

    def recommend(self, users, n=10, *, filter_seen=True, seen=None, unknown="error"):
        """(item ids, scores), best first: one row for one user id, a row per user for a
        list.  ``filter_seen`` leaves out the user's training items and ``seen``
        (Ratings, e.g. all their ratings) those too; an unknown user gets the most
        popular training items under ``unknown='fallback'``."""
        single = np.ndim(users) == 0
        codes = self.user_codes(users, unknown)
        n = min(n, len(self.item_ids_))
        top = np.empty((codes.shape[0], n), dtype=np.int64)
        scores = np.empty(top.shape)
        known = codes >= 0
        if known.any():
            top[known], scores[known] = self._top(codes[known], n, filter_seen,
                                                  self._seen_matrix(seen))
        if not known.all():   # the most popular training items, scored by their share
            popularity = np.bincount(self.feedback_.items, minlength=len(self.item_ids_))
            top[~known] = np.argsort(-popularity, kind="stable")[:n]
            scores[~known] = popularity[top[~known][0]] / popularity.sum()
        ids = self.item_ids_[top]
        return (ids[0], scores[0]) if single else (ids, scores)

    def _top(self, codes, n, filter_seen, seen_matrix):
        scores = self.scores(codes)
        if filter_seen:
            scores[self._trained_matrix(scores.shape[1])[codes].nonzero()] = -np.inf
        if seen_matrix is not None:
            scores[seen_matrix[codes].nonzero()] = -np.inf
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return top, np.take_along_axis(scores, top, axis=1)

    def _trained_matrix(self, n_items: int) -> sparse.csr_matrix:
        rows = self.feedback_
        return sparse.csr_matrix((np.ones(rows.items.shape[0]), rows.items, rows.indptr),
                                 shape=(len(rows.indptr) - 1, n_items))

    def recommend_codes(self, users, n=10, filter_seen=True, seen=None) -> np.ndarray:
        """Top-``n`` item codes, best first, for one user code (a 1-D result) or many (a
        row each).  ``filter_seen`` leaves out the items in the user's training rows;
        ``seen`` (a users x items CSR matrix, e.g. all their ratings) leaves those out too."""
        single = np.ndim(users) == 0
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        top, _ = self._top(users, min(n, len(self.item_ids_)), filter_seen, seen)
        return top[0] if single else top

    def similar_items(self, item, n=10):
        """(item ids, cosine similarities), most similar first, the item itself left out,
        by the items' latent vectors (loadings, topic or class profiles)."""
        code = int(self.item_codes([item])[0])
        return _nearest(self._latent_vectors()[0], code, n, self.item_ids_)

    def similar_users(self, user, n=10):
        """(user ids, cosine similarities), most similar first, the user left out, by
        the users' latent vectors (factors, topic or class shares)."""
        code = int(self.user_codes([user])[0])
        return _nearest(self._latent_vectors()[1], code, n, self.user_ids_)

    def explain(self, user, item, n=5) -> dict:
        """Why ``item`` gets its score for ``user`` (ids): ``score``, ``factors`` (latent
        classes or terms with their contributions) and ``items`` (the user's items that
        support it, by id)."""
        reasons = self.explain_codes(int(self.user_codes([user])[0]),
                                     int(self.item_codes([item])[0]), n)
        return {**reasons, "items": [(str(self.item_ids_[code]), value)
                                     for code, value in reasons["items"]]}


def _nearest(vectors: np.ndarray, code: int, n: int, ids: np.ndarray):
    """The ``n`` rows of ``vectors`` with the highest cosine to row ``code`` (itself left
    out): (their ids, the cosines)."""
    norms = np.linalg.norm(vectors, axis=1)
    similarity = vectors @ vectors[code] / np.maximum(norms * norms[code], 1e-300)
    similarity[code] = -np.inf
    order = np.argsort(-similarity, kind="stable")[:min(n, len(ids) - 1)]
    return ids[order], similarity[order]


class RatingRecommender(Recommender):
    """A recommender that predicts ratings."""

    _estimator_type = "regressor"

    def predict(self, users, items, *, unknown="error") -> np.ndarray:
        """Predicted ratings for parallel user and item ids; with ``unknown='fallback'``
        an unknown user gets the item's mean and an unknown item the global mean."""
        users, items = np.atleast_1d(users), np.atleast_1d(items)
        if users.shape != items.shape:
            raise UserInputError(f"users and items must pair up; got {users.shape[0]} users "
                                 f"and {items.shape[0]} items")
        return self.predict_codes(self.user_codes(users, unknown),
                                  self.item_codes(items, unknown))


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
