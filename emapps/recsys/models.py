"""Saved models: one loader for every recommender (``.npz`` arrays + ``.json``, no pickle)."""

import json

import numpy as np

from ..errors import UserInputError


def load_model(path):
    """The recommender saved at ``path`` (+ ``path``.json), whichever kind it is."""
    from .aspect import AspectRecommender
    from .factor import FactorRecommender
    from .gaussian_aspect import GaussianAspectRecommender
    from .implicit import ImplicitFactorRecommender
    from .multinomial import MixtureRecommender
    from .poisson import PoissonRecommender

    kinds = {"factor": FactorRecommender, "aspect": AspectRecommender,
             "implicit": ImplicitFactorRecommender, "poisson": PoissonRecommender,
             "multinomial": MixtureRecommender, "gaussian-aspect": GaussianAspectRecommender}
    try:
        with open(f"{path}.json", encoding="utf-8") as handle:
            meta = json.load(handle)
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        raise UserInputError(f"{path}: not a saved emapps recommender (its .npz arrays and "
                             f".json settings could not be read)") from None
    if meta.get("model") not in kinds:
        raise UserInputError(f"{path}: unknown model kind {meta.get('model')!r}")
    return kinds[meta["model"]].from_saved(meta, arrays)
