"""Rating loaders: MovieLens ``u.data`` / ``ratings.dat`` / ``ratings.csv`` and generic
CSV/TSV ``user,item,rating[,timestamp,...]``, ids mapped to contiguous integers.

Never downloads anything: datasets are read from where the user keeps them.
"""

import csv
import io
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import sparse

from ..errors import UserInputError


@dataclass
class Ratings:
    """Ratings as parallel arrays of user code, item code and value, with the id maps."""

    users: np.ndarray           # (N,) int64 codes into user_ids
    items: np.ndarray           # (N,) int64 codes into item_ids
    values: np.ndarray          # (N,) float64
    user_ids: np.ndarray        # original ids (str), code -> id
    item_ids: np.ndarray
    timestamps: np.ndarray | None = None
    extra: np.ndarray | None = None   # (N, C) further columns as strings
    source: str = ""
    notes: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return self.values.shape[0]

    @classmethod
    def from_ids(cls, users, items, values, like: "Ratings | None" = None) -> "Ratings":
        """Ratings from raw user and item ids; with ``like``, its id maps are used (ids it
        does not know get code -1), otherwise ids are numbered as by read_ratings."""
        users = [str(user) for user in users]
        items = [str(item) for item in items]
        user_ids = like.user_ids if like is not None else _numbering(users)
        item_ids = like.item_ids if like is not None else _numbering(items)
        return cls(_codes(user_ids, users), _codes(item_ids, items),
                   np.asarray(values, dtype=np.float64), user_ids, item_ids)

    def merged(self, other: "Ratings") -> "Ratings":
        """These ratings followed by ``other``'s (by original ids); ids new to these maps
        are appended to them, and a (user, item) in both keeps ``other``'s rating."""
        user_ids = np.concatenate([self.user_ids, np.setdiff1d(
            np.unique(other.user_ids[other.users[other.users >= 0]]), self.user_ids)])
        item_ids = np.concatenate([self.item_ids, np.setdiff1d(
            np.unique(other.item_ids[other.items[other.items >= 0]]), self.item_ids)])
        known = (other.users >= 0) & (other.items >= 0)
        users = np.concatenate([self.users, _codes(user_ids, other.user_ids[other.users[known]])])
        items = np.concatenate([self.items, _codes(item_ids, other.item_ids[other.items[known]])])
        values = np.concatenate([self.values, other.values[known]])
        keep = _last_of_each_pair(users, items, len(item_ids))
        return Ratings(users[keep], items[keep], values[keep], user_ids, item_ids,
                       source=self.source)

    def matrix(self) -> sparse.csr_matrix:
        """Users x items CSR matrix of the values."""
        return sparse.csr_matrix((self.values, (self.users, self.items)),
                                 shape=(self.n_users, self.n_items))

    def subset(self, mask) -> "Ratings":
        """The rows where ``mask`` holds, with the same id maps."""
        pick = lambda array: None if array is None else array[mask]  # noqa: E731
        return replace(self, users=self.users[mask], items=self.items[mask],
                       values=self.values[mask], timestamps=pick(self.timestamps),
                       extra=pick(self.extra))

    def implicit(self, threshold: float) -> "Ratings":
        """Positive feedback only: rows rated >= threshold, value 1."""
        kept = self.subset(self.values >= threshold)
        return replace(kept, values=np.ones(len(kept)))


@dataclass
class UserRows:
    """Ratings grouped by user (CSR rows sorted by item)."""

    indptr: np.ndarray
    items: np.ndarray
    values: np.ndarray

    @classmethod
    def single(cls, items, counts=None, scale: float = 1.0) -> "UserRows":
        """One (new) user's rows from item codes (unknown, -1, dropped) and counts
        (default 1 each), times ``scale``."""
        items = np.asarray(items, dtype=np.int64)
        counts = np.ones(items.shape) if counts is None else np.asarray(counts, dtype=float)
        keep = items >= 0
        return cls.build(np.zeros(int(keep.sum()), dtype=np.int64), items[keep],
                         scale * counts[keep], 1)

    @classmethod
    def build(cls, users, items, values, n_users):
        order = np.lexsort((items, users))
        counts = np.bincount(users, minlength=n_users)
        return cls(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                   items[order].astype(np.int64), np.asarray(values)[order].astype(np.float64))


def _codes(known: np.ndarray, ids) -> np.ndarray:
    index = {value: code for code, value in enumerate(known.tolist())}
    return np.array([index.get(str(value), -1) for value in ids], dtype=np.int64)


def _read_text(path) -> str:
    name = "<stdin>" if path == "-" else str(path)
    try:
        if path == "-":
            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8").read()
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"{name}: no such file") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{name}: not a text ratings file") from None
    except OSError as error:
        raise UserInputError(f"{name}: {error.strerror or error}") from None


def _split_lines(text: str):
    """Rows of fields: '::' (ratings.dat), tab, or comma separated."""
    lines = text.splitlines()
    sample = next((line for line in lines if line.strip()), "")
    if "::" in sample:
        return [line.split("::") for line in lines]
    delimiter = "\t" if "\t" in sample else ","
    return list(csv.reader(lines, delimiter=delimiter))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_ratings(path, *, user_ids=None, item_ids=None, rating_range=None) -> Ratings:
    """Load ratings; a header row is detected when its rating field is not a number.
    With ``rating_range`` (low, high) a rating outside it is an error naming its line.

    With ``user_ids``/``item_ids`` (arrays of original ids, e.g. a fitted model's) the
    codes follow those maps and unknown ids get code -1; otherwise ids are numbered in
    order of first appearance (numeric ids sorted numerically).
    """
    name = "<stdin>" if path == "-" else str(path)
    rows = _split_lines(_read_text(path))
    first_line = next((n for n, row in enumerate(rows) if any(f.strip() for f in row)), None)
    if first_line is None:
        raise UserInputError(f"{name}: no ratings")
    header = len(rows[first_line]) >= 3 and not _is_number(rows[first_line][2].strip())
    start = first_line + 1 if header else first_line
    body = [(number, row) for number, row in enumerate(rows[start:], start=start + 1)
            if any(f.strip() for f in row)]
    if not body:
        raise UserInputError(f"{name}: a header but no ratings")
    width = len(body[0][1])
    if width < 3:
        raise UserInputError(f"{name}: line {body[0][0]} has {width} fields; need user, item, "
                             f"rating")
    users, items, values, stamps, extra = [], [], [], [], []
    for number, row in body:
        if len(row) != width:
            raise UserInputError(f"{name}: line {number} has {len(row)} fields, line "
                                 f"{body[0][0]} has {width}")
        user, item, rating = (field_.strip() for field_ in row[:3])
        try:
            value = float(rating)
        except ValueError:
            raise UserInputError(f"{name}: line {number}: rating {rating!r} is not a number") \
                from None
        if not np.isfinite(value):
            raise UserInputError(f"{name}: line {number}: rating {rating!r} is not finite")
        if rating_range is not None and not rating_range[0] <= value <= rating_range[1]:
            raise UserInputError(f"{name}: line {number}: rating {rating!r} is outside "
                                 f"{rating_range[0]:g}..{rating_range[1]:g}")
        if not user or not item:
            raise UserInputError(f"{name}: line {number}: empty user or item id")
        users.append(user)
        items.append(item)
        values.append(value)
        if width >= 4:
            stamps.append(row[3].strip())
            extra.append([f.strip() for f in row[4:]])
    timestamps = None
    if stamps:
        try:
            timestamps = np.array(stamps, dtype=np.int64)
        except ValueError:
            timestamps = None  # a fourth column that is not a timestamp stays in extra
            extra = [[stamp, *rest] for stamp, rest in zip(stamps, extra)]
    user_map = np.asarray(user_ids, dtype=str) if user_ids is not None else _numbering(users)
    item_map = np.asarray(item_ids, dtype=str) if item_ids is not None else _numbering(items)
    ratings = Ratings(_codes(user_map, users), _codes(item_map, items),
                      np.array(values, dtype=np.float64), user_map, item_map, timestamps,
                      np.array(extra, dtype=str) if extra and len(extra[0]) else None, name)
    return _deduplicated(ratings)


def _numbering(ids) -> np.ndarray:
    unique = list(dict.fromkeys(ids))
    if all(value.lstrip("-").isdigit() for value in unique):
        unique.sort(key=int)
    return np.array(unique, dtype=str)


def _last_of_each_pair(users, items, n_items) -> np.ndarray:
    """Sorted row indices keeping the last row of every (user, item) pair (unknown ids,
    code -1, are never merged)."""
    n = users.shape[0]
    known = (users >= 0) & (items >= 0)
    key = np.where(known, users * max(n_items, 1) + items, -1 - np.arange(n))
    reversed_first = np.unique(key[::-1], return_index=True)[1]
    return np.sort(n - 1 - reversed_first)


def _deduplicated(ratings: Ratings) -> Ratings:
    """A (user, item) rated twice keeps its last row, with a warning saying how many."""
    keep = _last_of_each_pair(ratings.users, ratings.items, ratings.n_items)
    if keep.size == len(ratings):
        return ratings
    dropped = len(ratings) - keep.size
    warnings.warn(f"{ratings.source}: {dropped} repeated (user, item) ratings; the last of "
                  f"each is kept", UserWarning, stacklevel=3)
    deduplicated = ratings.subset(keep)
    deduplicated.notes["repeated_ratings_dropped"] = dropped
    return deduplicated


def read_pairs(path) -> tuple[list[str], list[str]]:
    """(user ids, item ids) of a user/item file (a header row and further columns are
    ignored)."""
    rows = [row for row in _split_lines(_read_text(path)) if any(f.strip() for f in row)]
    if rows and rows[0][0].strip().lower() in ("user", "userid", "user_id"):
        rows = rows[1:]  # a header
    short = next((number for number, row in enumerate(rows, 1) if len(row) < 2), None)
    if short is not None:
        raise UserInputError(f"{path}: row {short} needs a user and an item")
    if not rows:
        raise UserInputError(f"{path}: no user/item rows")
    user_ids = [row[0].strip() for row in rows]
    item_ids = [row[1].strip() for row in rows]
    return user_ids, item_ids
