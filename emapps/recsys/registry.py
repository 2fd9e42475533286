"""The recommenders by kind, and one loader for every saved one (one ``.npz``, no
pickle)."""

import numpy as np

from ..errors import UserInputError
from ..io.model_files import read_model
from .aspect import AspectRecommender
from .factor import FactorRecommender
from .gaussian_aspect import GaussianAspectRecommender
from .implicit import ImplicitFactorRecommender
from .multinomial import MixtureRecommender
from .poisson import PoissonRecommender
from .recommender import MODEL_FORMAT

#: the training rows every saved recommender holds
FEEDBACK = ("feedback_indptr", "feedback_items", "feedback_values")

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
    """The recommender saved at ``path``, whichever kind it is, checked: its ids match
    its training rows and its arrays are finite."""
    meta, arrays = read_model(path, MODEL_FORMAT, FEEDBACK, what="recommender")
    if meta.get("model") not in MODELS:
        raise UserInputError(f"{path}: unknown model kind {meta.get('model')!r}")
    n_users, n_items = len(meta.get("user_ids", [])), len(meta.get("item_ids", []))
    indptr, items = arrays["feedback_indptr"], arrays["feedback_items"]
    if (indptr.ndim != 1 or indptr.shape[0] != n_users + 1 or indptr[-1] != items.shape[0]
            or (items.size and not 0 <= items.min() <= items.max() < n_items)):
        raise UserInputError(f"{path}: {n_users} user ids and {n_items} item ids do not "
                             f"match the model's training rows")
    if not all(np.all(np.isfinite(array)) for array in arrays.values()
               if array.dtype.kind == "f"):
        raise UserInputError(f"{path}: the model holds NaN or infinite values")
    return MODELS[meta["model"]][0].from_saved(meta, arrays)
