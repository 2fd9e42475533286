"""Numeric tables in and out: CSV/TSV with a header row, or .npy (shared by CLIs)."""

import csv
import io
import sys
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from .outputs import atomic_path

MISSING = {"", "na", "nan", "n/a", "null", "."}


def _delimiter(path: str, first_line: str) -> str:
    if path.endswith((".tsv", ".tab", ".txt")) or "\t" in first_line:
        return "\t"
    return ","


def array_column_names(n_columns: int) -> list[str]:
    """The names of an array's columns, which have none of their own: x0, x1, ..."""
    return [f"x{j}" for j in range(n_columns)]


def read_table(path: str) -> tuple[np.ndarray, list[str]]:
    """(values with NaN for missing fields, column names); '-' reads stdin."""
    if path.endswith(".npy"):
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UserInputError(f"{path}: cannot read as .npy ({error})") from None
        if values.ndim != 2:
            raise UserInputError(f"{path}: expected a 2-D array, got shape {values.shape}")
        return values, array_column_names(values.shape[1])
    header, rows = read_text_table(path)
    values = []
    for line_number, fields in rows:
        row = []
        for name, field in zip(header, fields):
            if field.lower() in MISSING:
                row.append(np.nan)
                continue
            try:
                row.append(float(field))
            except ValueError:
                raise UserInputError(f"{path}, line {line_number}, column '{name}': "
                                     f"'{field}' is not a number") from None
        values.append(row)
    return np.array(values, dtype=np.float64), header


def read_text_table(path: str, allow_empty_rows: bool = False) -> tuple[list, list]:
    """(column names, [(line number, stripped fields)]) of a CSV/TSV with a header row;
    '-' reads stdin.  A line whose fields are all empty is refused (outputs are aligned
    by row) unless ``allow_empty_rows``."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{path}: cannot read ({error})") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise UserInputError(f"{path}: empty file (expected a header row and data rows)")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(path, lines[0]))
    header = [name.strip() for name in next(reader)]
    rows = []
    for line_number, fields in enumerate(reader, start=2):
        if not fields:   # an empty line is no row
            continue
        if not allow_empty_rows and all(not field.strip() for field in fields):
            raise UserInputError(f"{path}, line {line_number}: every field is empty; give the "
                                 f"row's values or remove it (outputs are aligned by row)")
        if len(fields) != len(header):
            raise UserInputError(f"{path}, line {line_number}: {len(fields)} fields, "
                                 f"header has {len(header)}")
        rows.append((line_number, [field.strip() for field in fields]))
    if not rows:
        raise UserInputError(f"{path}: no data rows after the header")
    return header, rows


def write_table(path: str, header: list[str], columns: list[np.ndarray], formats: list[str]):
    """Columns with a header, comma-separated for .csv else tab-separated; '-' writes
    stdout, files are written atomically."""
    sep = "," if path.endswith(".csv") else "\t"
    lines = [sep.join(header)]
    for values in zip(*columns):
        lines.append(sep.join(fmt % v for fmt, v in zip(formats, values)))
    text = "\n".join(lines) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    with atomic_path(path) as temporary:
        temporary.write_text(text)
