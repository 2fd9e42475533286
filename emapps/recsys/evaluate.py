"""Evaluation protocols of ``../shared/protocols/recsys.md`` (rating prediction CV)."""

import time

import numpy as np

from ..errors import UserInputError
from .factor import FactorRecommender
from .io import read_ratings


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
