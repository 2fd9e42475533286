"""Gaussian mixture model files: arrays and JSON metadata in one .npz, never pickle."""

import json

import numpy as np

from .._version import __version__
from ..errors import UserInputError
from ..io.outputs import atomic_path
from .params import GaussianParams

FORMAT = "emapps.GaussianMixture/1"


def save_model(path, model, columns, metadata=None) -> None:
    """Write a fitted GaussianMixture (and the column names it was fitted on)."""
    meta = {"format": FORMAT, "emapps_version": __version__,
            "covariance_type": model.covariance_type, "columns": list(columns),
            "settings": {k: v for k, v in model.get_params().items()
                         if not isinstance(v, np.ndarray) and v is not None},
            "seed": model.seed_, **(metadata or {})}
    with atomic_path(path, suffix=".npz") as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, weights=model.weights_, means=model.means_,
                     covariances=model.covariances_,
                     precisions_cholesky=model.precisions_cholesky_,
                     metadata=np.array(json.dumps(meta)))


def load_model(path):
    """(GaussianMixture, metadata) from a file written by :func:`save_model`."""
    from .gaussian import GaussianMixture

    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["metadata"]))
            arrays = {name: archive[name] for name in
                      ("weights", "means", "covariances", "precisions_cholesky")}
    except (OSError, ValueError, KeyError) as error:
        raise UserInputError(f"{path}: not an emapps mixture model ({error})") from None
    if meta.get("format") != FORMAT:
        raise UserInputError(f"{path}: unknown model format {meta.get('format')!r}")
    params = GaussianParams(arrays["weights"], arrays["means"], arrays["covariances"],
                            arrays["precisions_cholesky"], meta["covariance_type"])
    model = GaussianMixture(params.n_components, covariance_type=params.covariance_type)
    model.set_fitted_params(params)
    return model, meta
