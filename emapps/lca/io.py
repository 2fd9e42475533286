"""Answers from CSV/TSV files and latent class model files (one .npz, never pickle),
checked on load."""

import numpy as np

from ..errors import UserInputError
from ..io.model_files import read_model, write_model
from ..io.tables import MISSING, read_text_table

FORMAT = "emapps.LatentClassModel/1"


def read_answers(path, items=None) -> tuple[list[np.ndarray], list[str]]:
    """(one array per item, item names) from a table with a header row; ``items`` picks
    columns by name (default: all).  A column whose answers are all numbers is numeric
    (so 2 sorts before 10), else text; empty fields, NA and '.' are missing, and a row
    with no answers is a respondent who answered nothing (kept)."""
    header, rows = read_text_table(path, allow_empty_rows=True)
    names = header if items is None else items
    unknown = [name for name in names if name not in header]
    if unknown:
        raise UserInputError(f"{path}: no column(s) {', '.join(unknown)}; columns are "
                             f"{', '.join(header)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserInputError(f"item(s) named more than once: {', '.join(repeated)}")
    columns = []
    for name in names:
        index = header.index(name)
        fields = [fields[index] for _, fields in rows]
        columns.append(_column(fields))
    return columns, list(names)


def _column(fields: list[str]) -> np.ndarray:
    present = [field for field in fields if field.lower() not in MISSING]
    try:
        [float(field) for field in present]
    except ValueError:
        return np.array([None if field.lower() in MISSING else field for field in fields],
                        dtype=object)
    return np.array([np.nan if field.lower() in MISSING else float(field)
                     for field in fields])


ARRAYS = ("weights", "answer_probabilities", "means", "variances", "rates", "coefficients")


def save_model(path, model, metadata=None) -> None:
    """A fitted LatentClassModel with its indicators' names and answer categories."""
    meta = {"items": [str(name) for name in model.item_names_],
            "categories": [[_plain(value) for value in values] for values in model.categories_],
            "continuous": list(model.continuous_names_), "counts": list(model.count_names_),
            "covariates": list(model.covariate_names_),
            "settings": {key: value for key, value in model.get_params().items()
                         if isinstance(value, (int, float, str, type(None)))},
            "seed": model.seed_, "log_likelihood": model.loglik_, **(metadata or {})}
    params = model.params_
    write_model(path, FORMAT, meta, {"weights": params.weights,
                                     "answer_probabilities": params.probs,
                                     "means": params.means, "variances": params.variances,
                                     "rates": params.rates,
                                     "coefficients": params.coefficients})


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def load_model(path):
    """(LatentClassModel, metadata) from a file written by :func:`save_model`; shapes,
    finiteness, sums to one and positive variances and rates are checked."""
    from .estimator import LatentClassModel
    from .model import LatentClassParams

    meta, arrays = read_model(path, FORMAT, ARRAYS, what="latent class model")
    weights, probs = arrays["weights"], arrays["answer_probabilities"]
    categories, items = meta.get("categories"), meta.get("items")
    continuous, counts = meta.get("continuous", []), meta.get("counts", [])
    covariates = meta.get("covariates", [])
    if not (isinstance(categories, list) and isinstance(items, list)
            and len(categories) == len(items) and all(categories)
            and isinstance(continuous, list) and isinstance(counts, list)
            and isinstance(covariates, list)):
        raise UserInputError(f"{path}: its indicators and categories do not match")
    sizes = [len(values) for values in categories]
    K = weights.shape[0] if weights.ndim == 1 else -1
    shapes = {"answer_probabilities": (sum(sizes), K), "means": (len(continuous), K),
              "variances": (len(continuous), K), "rates": (len(counts), K),
              "coefficients": (len(covariates) + 1 if covariates else 0, K)}
    if K < 1 or any(arrays[name].shape != shape for name, shape in shapes.items()):
        raise UserInputError(f"{path}: its arrays do not fit {len(items)} items with "
                             f"{sum(sizes)} answers, {len(continuous)} measurements and "
                             f"{len(counts)} counts")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    if (not all(np.all(np.isfinite(array)) for array in arrays.values())
            or np.any(weights < 0) or np.any(probs < 0) or abs(weights.sum() - 1) > 1e-9
            or (items and np.any(np.abs(np.add.reduceat(probs, offsets[:-1], axis=0) - 1)
                                 > 1e-9))
            or np.any(arrays["variances"] <= 0) or np.any(arrays["rates"] <= 0)):
        raise UserInputError(f"{path}: its parameters are not a model (negative, not "
                             f"finite, or probabilities not summing to 1)")
    params = LatentClassParams(weights, probs, arrays["means"], arrays["variances"],
                               arrays["rates"], arrays["coefficients"])
    model = LatentClassModel(K).set_fitted(params, [np.array(values) for values in categories],
                                           items, continuous, counts, covariates)
    return model, meta
