"""Evaluation protocols of ``../shared/protocols/recsys.md``: rating prediction CV (A),
top-N from implicit feedback (B) and new-user fold-in (C)."""

import copy
import time

import numpy as np

from ..errors import UserInputError
from .factor import FactorRecommender
from .io import Ratings, read_ratings
from .recommender import ranking_metrics

POSITIVE = 4.0
#: fold-in temperatures tried on the cold-start split of the training rows
FOLDIN_TEMPERATURES = (1.0, 1.5, 2.0, 3.0, 4.0)


def rmse_mae(predicted, actual) -> tuple[float, float]:
    error = np.asarray(predicted) - np.asarray(actual)
    return float(np.sqrt(np.mean(error ** 2))), float(np.mean(np.abs(error)))


def fresh(model):
    """An unfitted copy of an unfitted recommender (its settings only)."""
    return copy.deepcopy(model)


def rating_cv(path, model) -> dict:
    """Protocol A: ``model`` (an unfitted rating recommender) trained on all folds but one
    predicts the held-out fold (clipped to the rating range); RMSE, MAE and fit seconds per
    fold, with mean and std over folds.  ``path`` has rows user, item, rating, timestamp,
    fold."""
    ratings = read_ratings(path)
    if ratings.extra is None or ratings.extra.shape[1] < 1:
        raise UserInputError(f"{path}: rating-cv needs a fifth column with the fold")
    try:
        folds = ratings.extra[:, 0].astype(int)
    except ValueError:
        raise UserInputError(f"{path}: the fold column must hold integers") from None
    rows = []
    for fold in np.unique(folds):
        train, test = ratings.subset(folds != fold), ratings.subset(folds == fold)
        started = time.process_time()
        fitted = fresh(model).fit(train)
        seconds = time.process_time() - started
        rmse, mae = rmse_mae(fitted.predict_codes(test.users, test.items), test.values)
        rows.append({"fold": int(fold), "rmse": rmse, "mae": mae, "seconds": seconds})
    column = lambda key: np.array([row[key] for row in rows])  # noqa: E731
    return {"folds": rows, "rmse": float(column("rmse").mean()),
            "rmse_std": float(column("rmse").std()), "mae": float(column("mae").mean()),
            "mae_std": float(column("mae").std()), "seconds": float(column("seconds").mean())}


def topn(train_path, test_path, model) -> dict:
    """Protocol B: ``model`` (a top-N recommender) fitted to the train positives (rating
    >= 4) ranks every item the user has not rated in train; metrics at 10 over users with
    test positives, plus fit and recommend seconds."""
    train = read_ratings(train_path)
    test = read_ratings(test_path, user_ids=train.user_ids, item_ids=train.item_ids)
    started = time.process_time()
    model.fit(train.implicit(POSITIVE))
    fit_seconds = time.process_time() - started
    relevant = {}
    for user, item, value in zip(test.users, test.items, test.values):
        if value >= POSITIVE and user >= 0 and item >= 0:
            relevant.setdefault(int(user), set()).add(int(item))
    started = time.perf_counter()
    recommended = model.recommend_codes(np.arange(train.n_users), 10, seen=train.matrix())
    recommend_seconds = time.perf_counter() - started
    metrics = ranking_metrics(recommended, relevant, train.n_items)
    metrics.update(fit_seconds=fit_seconds, recommend_seconds=recommend_seconds)
    return metrics


def cold_start_split(ratings: Ratings, n_given: int = 10, fraction: float = 0.2,
                     seed: int = 7) -> tuple[Ratings, Ratings, Ratings]:
    """Protocol C's split of ``ratings``: a seeded ``fraction`` of the users with more than
    ``n_given`` ratings become new; each new user's ratings sorted by (timestamp, item)
    give the first ``n_given`` and test the rest.  Returns (train, given, test)."""
    if ratings.timestamps is None:
        raise UserInputError(f"{ratings.source or 'ratings'}: a cold-start split needs "
                             "timestamps (a fourth column)")
    counts = np.bincount(ratings.users, minlength=ratings.n_users)
    eligible = np.flatnonzero(counts > n_given)
    chosen = np.random.default_rng(seed).permutation(eligible)
    new = np.zeros(ratings.n_users, dtype=bool)
    new[chosen[:int(np.floor(fraction * len(eligible) + 0.5))]] = True
    order = np.lexsort((ratings.items, ratings.timestamps, ratings.users))
    rank = np.empty(len(ratings), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    rank[order] = np.arange(len(ratings)) - starts[ratings.users[order]]
    is_new = new[ratings.users]
    return (ratings.subset(~is_new), ratings.subset(is_new & (rank < n_given)),
            ratings.subset(is_new & (rank >= n_given)))


def folded_predictions(model: FactorRecommender, given: Ratings, test: Ratings,
                       temperature: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Predictions for ``test`` rows, each user folded in from their ``given`` rows (item
    codes of the model, user codes shared by the two); and seconds per user."""
    predictions = np.empty(len(test))
    seconds = []
    for user in np.unique(test.users):
        mine, rows = given.users == user, test.users == user
        started = time.perf_counter()
        factors = model.fold_in(given.items[mine], given.values[mine], temperature)
        predictions[rows] = model.predict_folded(factors, test.items[rows])
        seconds.append(time.perf_counter() - started)
    return predictions, np.array(seconds)


def choose_foldin_temperature(train: Ratings, model: FactorRecommender, seed: int = 7,
                              n_splits: int = 5) -> tuple[float, dict]:
    """The fold-in temperature with the lowest RMSE pooled over ``n_splits`` cold-start
    splits of ``train`` (seeds ``seed``, ``seed`` + 1, ...; a copy of the unfitted
    ``model`` fitted to the rest of each); returns (T, {T: RMSE})."""
    squares = dict.fromkeys(FOLDIN_TEMPERATURES, 0.0)
    count = 0
    for split_seed in range(seed, seed + n_splits):
        inner, given, test = cold_start_split(train, seed=split_seed)
        fitted = fresh(model).fit(inner)
        for temperature in FOLDIN_TEMPERATURES:
            predictions = folded_predictions(fitted, given, test, temperature)[0]
            squares[temperature] += float(np.sum((predictions - test.values) ** 2))
        count += len(test)
    errors = {temperature: float(np.sqrt(total / count)) for temperature, total in squares.items()}
    return min(errors, key=errors.get), errors


def foldin(train_path, given_path, test_path, model: FactorRecommender) -> dict:
    """Protocol C: fit (a copy of the unfitted) ``model`` on the train rows, its fold-in
    temperature chosen on cold-start splits of them; fold each new user in from their given
    rows without refitting items, predict
    their test rows; RMSE, MAE, ms per user; for comparison the same without tempering,
    without fold-in (item baseline) and fully retrained on train + given."""
    train = read_ratings(train_path)
    given = read_ratings(given_path, item_ids=train.item_ids)
    test = read_ratings(test_path, user_ids=given.user_ids, item_ids=train.item_ids)
    if np.any(test.users < 0):
        raise UserInputError(f"{test_path}: it has users without given ratings")
    temperature, inner = choose_foldin_temperature(train, model)
    template, model = model, fresh(model)
    model.foldin_temperature = temperature
    started = time.process_time()
    model.fit(train)
    fit_seconds = time.process_time() - started
    predictions, seconds = folded_predictions(model, given, test)
    rmse, mae = rmse_mae(predictions, test.values)
    untempered = rmse_mae(folded_predictions(model, given, test, 1.0)[0], test.values)[0]
    unknown = np.full(len(test), -1)
    no_foldin = rmse_mae(model.predict_codes(unknown, test.items), test.values)[0]
    full = train.merged(given)
    retrained = fresh(template).fit(full)
    test_full = read_ratings(test_path, user_ids=full.user_ids, item_ids=full.item_ids)
    retrain_rmse = rmse_mae(retrained.predict_codes(test_full.users, test_full.items),
                            test.values)[0]
    return {"rmse": rmse, "mae": mae, "ms_per_user": 1000 * float(seconds.mean()),
            "temperature": temperature, "rmse_untempered": untempered,
            "retrain_rmse": retrain_rmse, "no_foldin_rmse": no_foldin,
            "fit_seconds": fit_seconds,
            "users": int(len(seconds)),
            "inner_rmse": {f"T={key:g}": value for key, value in inner.items()}}
