"""The recommenders by kind, and one loader for every saved one (``.npz`` arrays +
``.json``, no pickle)."""

import json

import numpy as np

from ..errors import UserInputError
from .aspect import AspectRecommender
from .factor import FactorRecommender
from .gaussian_aspect import GaussianAspectRecommender
from .implicit import ImplicitFactorRecommender
from .multinomial import MixtureRecommender
from .poisson import PoissonRecommender

#: kind (the command line's ``--model``) -> (class, the name of its size parameter)
MODELS = {
    "factor": (FactorRecommender, "n_factors"),
    "gaussian-aspect": (GaussianAspectRecommender, "n_classes"),
    "implicit": (ImplicitFactorRecommender, "n_factors"),
    "aspect": (AspectRecommender, "n_topics"),
    "poisson": (PoissonRecommender, "n_factors"),
    "multinomial": (MixtureRecommender, "n_classes"),
}
RATING_MODELS = ("factor", "gaussian-aspect")
TOPN_MODELS = ("implicit", "aspect", "poisson", "multinomial")


def make_model(kind: str, size=None, **settings):
    """An unfitted recommender of ``kind``; settings left as None (or not accepted by
    that kind) keep the class's defaults."""
    cls, size_name = MODELS[kind]
    accepted = cls._get_param_names()
    given = {name: value for name, value in {size_name: size, **settings}.items()
             if value is not None and name in accepted}
    return cls(**given)


def load_model(path):
    """The recommender saved at ``path`` (+ ``path``.json), whichever kind it is."""
    try:
        with open(f"{path}.json", encoding="utf-8") as handle:
            meta = json.load(handle)
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        raise UserInputError(f"{path}: not a saved emapps recommender (its .npz arrays and "
                             f".json settings could not be read)") from None
    if meta.get("model") not in MODELS:
        raise UserInputError(f"{path}: unknown model kind {meta.get('model')!r}")
    return MODELS[meta["model"]][0].from_saved(meta, arrays)
