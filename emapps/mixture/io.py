"""Gaussian mixture model files (one .npz of arrays and JSON metadata, never pickle),
checked on load: shapes, finite values, weights summing to one, positive definite
covariances."""

import numpy as np

from ..errors import UserInputError
from ..io.model_files import read_model, write_model
from .params import GaussianParams

FORMAT = "emapps.GaussianMixture/1"
ARRAYS = ("weights", "means", "covariances", "precisions_cholesky")


def save_model(path, model, columns, metadata=None) -> None:
    """Write a fitted GaussianMixture (and the column names it was fitted on)."""
    meta = {"covariance_type": model.covariance_type, "columns": list(columns),
            "settings": {k: v for k, v in model.get_params().items()
                         if not isinstance(v, np.ndarray) and v is not None},
            "seed": model.seed_, **(metadata or {})}
    write_model(path, FORMAT, meta, {name: getattr(model, f"{name}_") for name in ARRAYS})


def load_model(path):
    """(GaussianMixture, metadata) from a file written by :func:`save_model`."""
    from .gaussian import GaussianMixture

    meta, arrays = read_model(path, FORMAT, ARRAYS, what="mixture model")
    params = _checked(path, meta, arrays)
    model = GaussianMixture(params.n_components, covariance_type=params.covariance_type)
    model.set_fitted_params(params)
    return model, meta


def _checked(path, meta, arrays) -> GaussianParams:
    """The parameters, or one error line saying what makes them no model."""
    covariance_type = meta.get("covariance_type")
    if covariance_type not in ("full", "tied", "diag", "spherical"):
        raise UserInputError(f"{path}: unknown covariance type {covariance_type!r}")
    weights, means = arrays["weights"], arrays["means"]
    if weights.ndim != 1 or means.ndim != 2 or means.shape[0] != weights.shape[0]:
        raise UserInputError(f"{path}: {weights.shape[0] if weights.ndim else 0} weights "
                             f"for means of shape {means.shape}")
    n_components, n_features = means.shape
    expected = {"full": (n_components, n_features, n_features),
                "tied": (n_features, n_features), "diag": (n_components, n_features),
                "spherical": (n_components,)}[covariance_type]
    for name in ("covariances", "precisions_cholesky"):
        if arrays[name].shape != expected:
            raise UserInputError(f"{path}: {name} of shape {arrays[name].shape}, expected "
                                 f"{expected} for {covariance_type} covariances")
    if not all(np.all(np.isfinite(arrays[name])) for name in ARRAYS):
        raise UserInputError(f"{path}: the model holds NaN or infinite values")
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-6):
        raise UserInputError(f"{path}: the weights must be >= 0 and sum to 1 (they sum to "
                             f"{weights.sum():.6g})")
    if len(meta.get("columns", [])) != n_features:
        raise UserInputError(f"{path}: {len(meta.get('columns', []))} column names for "
                             f"{n_features} features")
    covariances = arrays["covariances"]
    if covariance_type in ("full", "tied"):
        stack = covariances[None] if covariance_type == "tied" else covariances
        if np.any(np.linalg.eigvalsh(stack).min(axis=1) <= 0):
            raise UserInputError(f"{path}: a covariance is not positive definite")
    elif np.any(covariances <= 0):
        raise UserInputError(f"{path}: a variance is not positive")
    return GaussianParams(weights, means, covariances, arrays["precisions_cholesky"],
                          covariance_type)
