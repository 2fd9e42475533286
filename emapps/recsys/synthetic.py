"""Ratings drawn from a known latent-factor model, for demos and tests with a known answer.

r_ui = mu + b_i + c_u + w_i^T z_u + e (the model :class:`FactorRecommender` fits), with
popularity-skewed items and activity-skewed users as in MovieLens; ``rounded`` ratings are
rounded and clipped to 1..5.
"""

from dataclasses import dataclass

import numpy as np

from .io import Ratings


@dataclass
class SyntheticTruth:
    item_bias: np.ndarray
    loadings: np.ndarray
    user_bias: np.ndarray
    user_factors: np.ndarray
    noise_sd: float
    mean: float

    def expected(self, users, items) -> np.ndarray:
        """Noise-free ratings of (user, item) codes."""
        return (self.mean + self.item_bias[items] + self.user_bias[users]
                + np.einsum("nk,nk->n", self.user_factors[users], self.loadings[items]))


def synthetic_ratings(n_users=300, n_items=400, n_factors=3, per_user=(20, 120),
                      noise_sd=0.5, rounded=True, seed=0) -> tuple[Ratings, SyntheticTruth]:
    """(ratings, the truth they were drawn from); timestamps are seconds from 2000-01-01."""
    rng = np.random.default_rng(seed)
    truth = SyntheticTruth(rng.normal(scale=0.4, size=n_items),
                           rng.normal(scale=0.5, size=(n_items, n_factors)),
                           rng.normal(scale=0.3, size=n_users),
                           rng.normal(size=(n_users, n_factors)), noise_sd, 3.5)
    popularity = rng.pareto(1.5, size=n_items) + 0.05
    popularity /= popularity.sum()
    counts = np.minimum(rng.integers(per_user[0], per_user[1] + 1, size=n_users), n_items)
    users = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([rng.choice(n_items, size=c, replace=False, p=popularity)
                            for c in counts])
    values = truth.expected(users, items) + rng.normal(scale=noise_sd, size=users.size)
    if rounded:
        values = np.clip(np.rint(values), 1, 5)
    stamps = 946684800 + np.sort(rng.integers(0, 10**8, size=users.size))
    ratings = Ratings(users, items, values, np.array([str(u + 1) for u in range(n_users)]),
                      np.array([str(i + 1) for i in range(n_items)]), stamps,
                      source="synthetic")
    return ratings, truth


def write_udata(ratings: Ratings, path) -> None:
    """MovieLens u.data layout: user \\t item \\t rating \\t timestamp, no header."""
    from ..io.outputs import write_text
    lines = [f"{ratings.user_ids[u]}\t{ratings.item_ids[i]}\t{int(v)}\t{t}"
             for u, i, v, t in zip(ratings.users, ratings.items, ratings.values,
                                   ratings.timestamps)]
    write_text(path, "\n".join(lines) + "\n")
