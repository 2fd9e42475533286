"""``FactorRecommender``: rating prediction by factor analysis with missing entries.

r_ui = mu + b_i + c_u + w_i^T z_u + e,  e ~ N(0, s2),  (c_u, z_u) ~ N(0, diag(t2, I))

Item parameters (b_i, w_i) get Gaussian priors (precisions ``reg_bias``, ``reg_factors``)
and are fitted by MAP-EM through the core driver; the user terms are latent and
integrated out (Canny 2002, with user and item biases), so a new user is folded in by
one E-step on their ratings, without refitting items.  s2 and t2 are estimated.
"""

import json
from dataclasses import dataclass

import numpy as np

from ..atomic import atomic_path, write_json
from ..em import fit_em
from ..errors import UserInputError
from ..kernels.factor import factor_estep, factor_user_posteriors
from ..validation import check_positive_int
from .io import Ratings


@dataclass
class FactorParams:
    item_bias: np.ndarray     # (I,) offsets from the global mean
    loadings: np.ndarray      # (I, K)
    bias_var: float           # t2, variance of the user bias
    noise_var: float          # s2


@dataclass
class UserRows:
    """Ratings grouped by user (CSR): centred values y = r - mu."""

    indptr: np.ndarray
    items: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, users, items, centred, n_users):
        order = np.lexsort((items, users))
        counts = np.bincount(users, minlength=n_users)
        return cls(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                   items[order].astype(np.int64), centred[order].astype(np.float64))


class FactorEM:
    """MAP-EM model of the driver's protocol over ``UserRows``."""

    def __init__(self, n_items, n_factors, reg_bias, reg_factors, init_scale, n_users):
        self.n_items, self.n_factors = n_items, n_factors
        self.reg_bias, self.reg_factors = reg_bias, reg_factors
        self.init_scale = init_scale
        self.n_users = n_users

    def initial_params(self, rows: UserRows, rng) -> FactorParams:
        totals = np.bincount(rows.items, weights=rows.values, minlength=self.n_items)
        counts = np.bincount(rows.items, minlength=self.n_items)
        bias = totals / (counts + self.reg_bias * max(rows.values.var(), 1e-3))
        loadings = rng.normal(scale=self.init_scale, size=(self.n_items, self.n_factors))
        return FactorParams(bias, loadings, 0.1, float(rows.values.var()))

    def e_step(self, params: FactorParams, rows: UserRows) -> dict:
        second, first, squares, counts, bias_moment, loglik = factor_estep(
            rows.indptr, rows.items, rows.values, params.item_bias, params.loadings,
            params.bias_var, params.noise_var)
        return {"second": second, "first": first, "squares": squares, "counts": counts,
                "bias_moment": bias_moment, "loglik": loglik,
                "weight": float(rows.values.shape[0])}

    def log_prior(self, params: FactorParams) -> float:
        return -0.5 * (self.reg_factors * float(np.sum(params.loadings ** 2))
                       + self.reg_bias * float(np.sum(params.item_bias ** 2)))

    def m_step(self, params: FactorParams, stats: dict) -> FactorParams:
        second, first = stats["second"], stats["first"]
        free = np.r_[0, 2:second.shape[1]]  # augmented (1, c, z): the loading of c is 1
        penalty = params.noise_var * np.r_[self.reg_bias, np.full(self.n_factors,
                                                                  self.reg_factors)]
        system = second[:, free][:, :, free] + np.diag(penalty)
        rhs = first[:, free] - second[:, free, 1]
        solution = np.linalg.solve(system, rhs[:, :, None])[:, :, 0]
        vector = np.concatenate([solution[:, :1], np.ones((self.n_items, 1)),
                                 solution[:, 1:]], axis=1)
        residual = (stats["squares"] - 2.0 * np.einsum("id,id->i", first, vector)
                    + np.einsum("id,ide,ie->i", vector, second, vector))
        noise_var = max(float(residual.sum() / stats["weight"]), 1e-6)
        bias_var = max(float(stats["bias_moment"] / self.n_users), 1e-6)
        return FactorParams(solution[:, 0], np.ascontiguousarray(solution[:, 1:]), bias_var,
                            noise_var)


class FactorRecommender:
    """Rating prediction by factor analysis with missing entries, fitted by MAP-EM.

    Fitted attributes: ``params_`` (item biases, loadings, s2, t2), ``global_mean_``,
    ``user_factors_`` (posterior means of (c_u, z_u)), ``loglik_`` (log posterior),
    ``trace_``, ``n_iter_``, ``converged_``, ``user_ids_``, ``item_ids_``,
    ``rating_range_``.
    """

    def __init__(self, n_factors=10, *, reg_factors=10.0, reg_bias=5.0, max_iter=50,
                 tol=1e-4, init_scale=0.1, seed=None, clip=True):
        self.n_factors = n_factors
        self.reg_factors = reg_factors
        self.reg_bias = reg_bias
        self.max_iter = max_iter
        self.tol = tol
        self.init_scale = init_scale
        self.seed = seed
        self.clip = clip

    def fit(self, ratings: Ratings) -> "FactorRecommender":
        check_positive_int(self.n_factors, "n_factors")
        check_positive_int(self.max_iter, "max_iter")
        for name in ("reg_factors", "reg_bias"):
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
        model = FactorEM(ratings.n_items, self.n_factors, self.reg_bias, self.reg_factors,
                         self.init_scale, ratings.n_users)
        result = fit_em(model, rows, seed=self.seed, max_iter=self.max_iter, tol=self.tol,
                        tol_on="mean", warn=False)
        self.result_ = result
        self.params_ = result.params
        self.loglik_, self.trace_ = result.loglik, list(result.trace)
        self.n_iter_, self.converged_ = result.n_iter, result.converged
        self.user_factors_ = self._posteriors(rows)
        return self

    def _posteriors(self, rows: UserRows) -> np.ndarray:
        p = self.params_
        return factor_user_posteriors(rows.indptr, rows.items, rows.values, p.item_bias,
                                      p.loadings, p.bias_var, p.noise_var)[0]

    def _finish(self, predictions):
        if self.clip:
            return np.clip(predictions, *self.rating_range_)
        return predictions

    def predict(self, users, items) -> np.ndarray:
        """Predicted ratings for user/item codes (unknown codes, -1, get the known part:
        the item or global mean)."""
        users, items = np.asarray(users), np.asarray(items)
        p = self.params_
        prediction = np.full(users.shape, self.global_mean_)
        item_known = items >= 0
        prediction[item_known] += p.item_bias[items[item_known]]
        both = item_known & (users >= 0)
        u, i = users[both], items[both]
        factors = self.user_factors_[u]
        prediction[both] += factors[:, 0] + np.einsum("nk,nk->n", factors[:, 1:],
                                                      p.loadings[i])
        return self._finish(prediction)

    def fold_in(self, items, values) -> np.ndarray:
        """A new user's posterior (c_u, z_u) from their ratings, one E-step, items fixed."""
        items = np.asarray(items, dtype=np.int64)
        keep = items >= 0
        rows = UserRows(np.array([0, int(keep.sum())], dtype=np.int64), items[keep],
                        np.asarray(values, dtype=np.float64)[keep] - self.global_mean_)
        return self._posteriors(rows)[0]

    def predict_folded(self, factors, items) -> np.ndarray:
        """Predicted ratings of a folded-in user (``fold_in``'s result) for item codes."""
        items = np.asarray(items, dtype=np.int64)
        p = self.params_
        prediction = np.full(items.shape, self.global_mean_)
        known = items >= 0
        prediction[known] += (p.item_bias[items[known]] + factors[0]
                              + p.loadings[items[known]] @ factors[1:])
        return self._finish(prediction)

    # ---------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """``path`` (.npz arrays) and ``path`` + '.json' (settings and ids); no pickle."""
        p = self.params_
        with atomic_path(path, suffix=".npz") as temporary:
            np.savez(temporary, item_bias=p.item_bias, loadings=p.loadings,
                     user_factors=self.user_factors_)
        write_json(f"{path}.json", {
            "model": "factor", "n_factors": self.n_factors, "reg_factors": self.reg_factors,
            "reg_bias": self.reg_bias, "bias_var": p.bias_var, "noise_var": p.noise_var,
            "global_mean": self.global_mean_, "rating_range": list(self.rating_range_),
            "clip": self.clip, "user_ids": self.user_ids_.tolist(),
            "item_ids": self.item_ids_.tolist(), "loglik": self.loglik_,
            "n_iter": self.n_iter_, "seed": self.result_.seed})

    @classmethod
    def load(cls, path) -> "FactorRecommender":
        try:
            meta = json.loads(open(f"{path}.json", encoding="utf-8").read())
            arrays = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UserInputError(f"{path}: not a saved emapps recommender ({error})") from None
        model = cls(meta["n_factors"], reg_factors=meta["reg_factors"],
                    reg_bias=meta["reg_bias"], clip=meta["clip"])
        model.params_ = FactorParams(arrays["item_bias"], arrays["loadings"],
                                     meta["bias_var"], meta["noise_var"])
        model.user_factors_ = arrays["user_factors"]
        model.global_mean_ = meta["global_mean"]
        model.rating_range_ = tuple(meta["rating_range"])
        model.user_ids_ = np.array(meta["user_ids"], dtype=str)
        model.item_ids_ = np.array(meta["item_ids"], dtype=str)
        model.loglik_, model.n_iter_ = meta["loglik"], meta["n_iter"]
        return model
