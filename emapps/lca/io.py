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


def save_model(path, model, metadata=None) -> None:
    """A fitted LatentClassModel with its items' names and answer categories."""
    meta = {"items": [str(name) for name in model.item_names_],
            "categories": [[_plain(value) for value in values] for values in model.categories_],
            "settings": {key: value for key, value in model.get_params().items()
                         if isinstance(value, (int, float, str, type(None)))},
            "seed": model.seed_, "log_likelihood": model.loglik_, **(metadata or {})}
    write_model(path, FORMAT, meta, {"weights": model.weights_,
                                     "answer_probabilities": model.answer_probabilities_})


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def load_model(path):
    """(LatentClassModel, metadata) from a file written by :func:`save_model`; shapes,
    finiteness and sums to one are checked."""
    from .estimator import LatentClassModel

    meta, arrays = read_model(path, FORMAT, ("weights", "answer_probabilities"),
                              what="latent class model")
    weights, probs = arrays["weights"], arrays["answer_probabilities"]
    categories = meta.get("categories")
    items = meta.get("items")
    if not (isinstance(categories, list) and isinstance(items, list)
            and len(categories) == len(items) and all(categories)):
        raise UserInputError(f"{path}: its items and categories do not match")
    sizes = [len(values) for values in categories]
    K = weights.shape[0] if weights.ndim == 1 else -1
    if K < 1 or probs.shape != (sum(sizes), K):
        raise UserInputError(f"{path}: arrays of shapes {weights.shape} and {probs.shape} "
                             f"do not fit {len(items)} items with {sum(sizes)} answers")
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    if (not np.all(np.isfinite(weights)) or not np.all(np.isfinite(probs))
            or np.any(weights < 0) or np.any(probs < 0) or abs(weights.sum() - 1) > 1e-9
            or np.any(np.abs(np.add.reduceat(probs, offsets[:-1], axis=0) - 1) > 1e-9)):
        raise UserInputError(f"{path}: class shares or answer probabilities are not "
                             f"probabilities (negative, not finite or not summing to 1)")
    model = LatentClassModel(K)
    model.set_fitted(weights, probs, [np.array(values) for values in categories], items)
    return model, meta
