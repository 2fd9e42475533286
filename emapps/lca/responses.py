"""Categorical answers as codes: each item's observed values become 0..C_j - 1 in sorted
order; NaN, None, '' and 'NA' are missing (-1).  Identical respondents are counted once,
with a weight, so a survey of a few hundred distinct answer patterns costs no more than
the patterns."""

import warnings

import numpy as np

from ..errors import UserInputError
from .model import Responses, answer_rows

MISSING_TEXT = ("", "NA", "N/A", "NaN", "nan", ".")


def as_columns(X, name="X") -> list[np.ndarray]:
    """The items of X (rows x items) as one array per item (numbers as float with NaN
    missing; text as str with None missing)."""
    if hasattr(X, "tocsr") or hasattr(X, "todense"):
        raise UserInputError(f"{name} is a sparse matrix; pass {name}.toarray()")
    if hasattr(X, "columns") and hasattr(X, "iloc"):   # a data frame: column by column
        columns = [np.asarray(X.iloc[:, j]) for j in range(X.shape[1])]
    else:
        try:
            array = np.asarray(X)
        except ValueError as error:
            raise UserInputError(f"{name} is not a table: {error}") from None
        if array.dtype.kind not in "biufO":   # text: one Python string per answer
            array = array.astype(object)
        if array.ndim != 2:
            raise UserInputError(f"{name} must be 2-D (respondents x items), got "
                                 f"{array.ndim} dimension(s)")
        columns = [array[:, j] for j in range(array.shape[1])]
    if not columns:
        raise UserInputError(f"{name} has no items")
    if columns[0].shape[0] == 0:
        raise UserInputError(f"{name} has no respondents")
    return [_plain_column(column) for column in columns]


def _plain_column(column: np.ndarray) -> np.ndarray:
    if column.dtype.kind in "biuf":
        return column.astype(float)
    values = [None if value is None or (isinstance(value, float) and np.isnan(value))
              or (isinstance(value, str) and value.strip() in MISSING_TEXT) else value
              for value in column.tolist()]
    if all(value is None or isinstance(value, (int, float, np.number)) for value in values):
        return np.array([np.nan if value is None else float(value) for value in values])
    return np.array(values, dtype=object)


def _missing(column: np.ndarray) -> np.ndarray:
    if column.dtype.kind == "f":
        return np.isnan(column)
    return np.array([value is None for value in column], dtype=bool)


def learn_categories(columns, names) -> list[np.ndarray]:
    """Each item's observed values, sorted; an item never answered is an error, one with
    a single value a warning (it says nothing about the classes)."""
    categories = []
    for column, name in zip(columns, names):
        observed = column[~_missing(column)]
        if observed.shape[0] == 0:
            raise UserInputError(f"item {name} has no observed answers; leave it out")
        values = np.unique(observed if column.dtype.kind == "f" else observed.astype(str))
        if values.shape[0] == 1:
            warnings.warn(f"item {name} has one observed answer ({values[0]}): it says "
                          f"nothing about the classes", UserWarning, stacklevel=4)
        categories.append(values)
    return categories


def encode(columns, categories, names) -> np.ndarray:
    """Codes (rows, items), -1 missing; a value not among an item's categories (seen only
    in new data) is an error naming it."""
    n_rows = columns[0].shape[0]
    dtype = np.int8 if max(len(values) for values in categories) < 127 else np.int16
    codes = np.full((n_rows, len(columns)), -1, dtype=dtype)
    for j, (column, values, name) in enumerate(zip(columns, categories, names)):
        if column.shape[0] != n_rows:
            raise UserInputError(f"item {name} has {column.shape[0]} rows, not {n_rows}")
        present = ~_missing(column)
        observed = column[present] if column.dtype.kind == "f" and values.dtype.kind == "f" \
            else column[present].astype(str)
        if values.dtype.kind != "f":
            values = values.astype(str)
        position = np.searchsorted(values, observed)
        position = np.minimum(position, values.shape[0] - 1)
        unknown = values[position] != observed
        if np.any(unknown):
            raise UserInputError(f"item {name}: answer {_label(observed[unknown][0])!r} was not "
                                 f"seen when the model was fitted (answers: "
                                 f"{', '.join(map(_label, values))})")
        codes[present, j] = position
    return codes


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


#: rows sampled to judge whether counting identical respondents once pays
PATTERN_SAMPLE = 20_000


def responses(codes: np.ndarray, offsets: np.ndarray, weight=None, continuous=None,
              counts=None, covariates=None) -> Responses:
    """The fit's data: with categorical items only, identical respondents counted once
    (weights add) when a sample shows that they repeat enough to pay for the sort; else
    every row, in order.  ``covariates`` (rows, Q) get an intercept column in front."""
    n_rows = codes.shape[0]
    continuous = np.zeros((n_rows, 0)) if continuous is None else continuous
    counts = np.zeros((n_rows, 0)) if counts is None else counts
    design = np.zeros((n_rows, 0)) if covariates is None or covariates.shape[1] == 0 \
        else np.column_stack([np.ones(n_rows), covariates])
    rows = np.ones(n_rows) if weight is None else weight.astype(np.float64)
    if continuous.shape[1] or counts.shape[1] or design.shape[1] or not _repeats(codes):
        return Responses(answer_rows(codes, offsets), np.ascontiguousarray(continuous),
                         np.ascontiguousarray(counts), np.ascontiguousarray(design), rows)
    patterns, inverse = np.unique(codes, axis=0, return_inverse=True)
    pattern_weights = np.bincount(inverse.ravel(), weights=weight, minlength=patterns.shape[0])
    empty = np.zeros((patterns.shape[0], 0))
    return Responses(answer_rows(patterns, offsets), empty, empty.copy(), empty.copy(),
                     pattern_weights.astype(np.float64))


def _repeats(codes: np.ndarray) -> bool:
    """Whether a sample of rows holds few enough distinct ones for counting to pay."""
    sample = codes if codes.shape[0] <= PATTERN_SAMPLE else codes[
        np.random.default_rng(0).choice(codes.shape[0], PATTERN_SAMPLE, replace=False)]
    return np.unique(sample, axis=0).shape[0] <= 0.7 * sample.shape[0]


def split_indicators(names: list, continuous, counts, covariates=None) -> tuple:
    """Positions of the (categorical items, measurements, counts, covariates) among
    ``names``: the last three give columns by position or name; the rest are items."""
    def positions(chosen, what):
        found = []
        for column in chosen or ():
            if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
                if not 0 <= column < len(names):
                    raise UserInputError(f"{what} column {column} is not among the "
                                         f"{len(names)} columns")
                found.append(int(column))
            elif str(column) in names:
                found.append(names.index(str(column)))
            else:
                raise UserInputError(f"{what} column {column!r} is not among the columns "
                                     f"({', '.join(map(str, names))})")
        return found

    measured, counted = positions(continuous, "continuous"), positions(counts, "count")
    explaining = positions(covariates, "covariate")
    given = measured + counted + explaining
    twice = sorted({p for p in given if given.count(p) > 1})
    if twice:
        raise UserInputError(f"column(s) {', '.join(str(names[p]) for p in twice)} given "
                             f"more than once")
    items = [p for p in range(len(names)) if p not in given]
    return items, measured, counted, explaining


def numeric_block(columns: list, names: list, n_rows: int, kind: str = "measurement",
                  ) -> np.ndarray:
    """(rows, len(columns)) floats with NaN missing; a count must be a whole number >= 0,
    a covariate may not be missing."""
    block = np.empty((n_rows, len(columns)))
    for j, (column, name) in enumerate(zip(columns, names)):
        if column.dtype.kind != "f":
            raise UserInputError(f"{kind} {name} holds text; it must be numbers")
        if kind == "covariate" and np.isnan(column).any():
            raise UserInputError(f"covariate {name} is missing for {np.isnan(column).sum()} "
                                 f"respondents; leave them out or fill it in")
        observed = column[~np.isnan(column)]
        if observed.shape[0] == 0:
            raise UserInputError(f"{name} has no observed values; leave it out")
        if not np.all(np.isfinite(observed)):
            raise UserInputError(f"{name} holds infinite values")
        if kind == "count" and np.any((observed < 0) | (observed != np.round(observed))):
            raise UserInputError(f"count {name} holds values that are not whole numbers >= 0")
        block[:, j] = column
    return block
