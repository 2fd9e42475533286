"""Input checks shared by every estimator; errors name what is wrong and where."""

import numbers

import numpy as np

from ..errors import InputTypeError, UserInputError


def check_matrix(X, *, name="X", allow_nan=False, min_rows=1) -> np.ndarray:
    """A C-contiguous 2-D float32/float64 array, or UserInputError saying what is wrong.

    With ``allow_nan`` NaN marks a missing value, but a row must keep one observed value.
    """
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise InputTypeError(f"{name} is a sparse matrix; sparse input is not supported, "
                             f"pass {name}.toarray()")
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as error:
        raise UserInputError(f"{name} is not a numeric matrix: {error}") from None
    if np.iscomplexobj(array):
        raise UserInputError(f"{name} holds complex numbers: Complex data not supported")
    if array.dtype not in (np.float32, np.float64):
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise InputTypeError(f"{name} has non-numeric values: {error}") from None
    if array.ndim == 1:
        raise UserInputError(f"{name} must be 2-D (rows x features), got a 1-D array; "
                             f"Reshape your data with {name}.reshape(-1, 1) for one feature "
                             f"or {name}.reshape(1, -1) for one sample")
    if array.ndim != 2:
        raise UserInputError(f"{name} must be 2-D, got {array.ndim} dimensions")
    if array.shape[1] == 0:
        raise UserInputError(f"{name} has 0 feature(s) (shape={array.shape}) while a minimum "
                             f"of 1 is required.")
    if array.shape[0] < min_rows:
        raise UserInputError(f"{name} has {array.shape[0]} rows; at least {min_rows} needed")
    if np.isfinite(array).all():
        return np.ascontiguousarray(array)
    if np.isinf(array).any():
        row, col = np.argwhere(np.isinf(array))[0]
        raise UserInputError(f"{name} has an infinite value at row {row}, column {col}")
    if not allow_nan and np.isnan(array).any():
        row, col = np.argwhere(np.isnan(array))[0]
        raise UserInputError(f"{name} has a missing (NaN) value at row {row}, column {col}")
    if allow_nan:
        empty = np.isnan(array).all(axis=1)
        if empty.any():
            raise UserInputError(f"{name} row {int(np.argmax(empty))} has no observed values")
    return np.ascontiguousarray(array)


def check_sample_weight(sample_weight, n_rows) -> np.ndarray:
    """Non-negative finite weights of length n_rows, or an empty array for unit weights."""
    if sample_weight is None:
        return np.empty(0)
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n_rows,):
        raise UserInputError(f"sample_weight has shape {weight.shape}, expected ({n_rows},)")
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise UserInputError("sample_weight must be finite and non-negative")
    if weight.sum() <= 0:
        raise UserInputError("sample_weight sums to zero")
    return np.ascontiguousarray(weight)


def check_positive_int(value, name, minimum=1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise UserInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(value, name, choices):
    if value not in choices:
        raise UserInputError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value
