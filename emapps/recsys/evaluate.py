"""Evaluation protocols of ``../shared/protocols/recsys.md``: rating prediction CV (A)
and top-N from implicit feedback (B)."""

import time

import numpy as np

from ..errors import UserInputError
from .factor import FactorRecommender
from .io import read_ratings
from .topn import ranking_metrics

POSITIVE = 4.0


def rmse_mae(predicted, actual) -> tuple[float, float]:
    error = np.asarray(predicted) - np.asarray(actual)
    return float(np.sqrt(np.mean(error ** 2))), float(np.mean(np.abs(error)))


def rating_cv(path, **settings) -> dict:
    """Protocol A: train on all folds but one, predict the held-out fold (clipped to the
    rating range); RMSE, MAE and fit seconds per fold, with mean and std over folds.
    ``path`` has rows user, item, rating, timestamp, fold."""
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
        model = FactorRecommender(**settings).fit(train)
        seconds = time.process_time() - started
        rmse, mae = rmse_mae(model.predict(test.users, test.items), test.values)
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
    recommended = model.recommend(np.arange(train.n_users), 10, seen=train.matrix())
    recommend_seconds = time.perf_counter() - started
    metrics = ranking_metrics(recommended, relevant, train.n_items)
    metrics.update(fit_seconds=fit_seconds, recommend_seconds=recommend_seconds)
    return metrics
