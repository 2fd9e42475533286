"""Distinct rows of an integer matrix by open-addressing hashing, O(rows x columns).

Sorting is what numpy's unique does; for the haplotype searches, where a few thousand
distinct rows hide among hundreds of thousands, one hashed pass is several times faster.
"""

import numpy as np

from ._jit import kernel

#: 64-bit FNV-1a constants
FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)


@kernel()
def _row_hash(rows, r):
    value = FNV_OFFSET
    for column in range(rows.shape[1]):
        value = (value ^ np.uint64(rows[r, column] & 0xFFFF)) * FNV_PRIME
    return value


@kernel()
def _same_row(rows, r, s):
    for column in range(rows.shape[1]):
        if rows[r, column] != rows[s, column]:
            return False
    return True


@kernel()
def unique_rows(rows):
    """(index of the first occurrence of each distinct row, in order of appearance;
    for every row, the number of its distinct row in that order)."""
    n_rows = rows.shape[0]
    size = 16
    while size < 2 * n_rows:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, dtype=np.int64)  # distinct row number held by each slot
    first = np.empty(n_rows, dtype=np.int64)
    inverse = np.empty(n_rows, dtype=np.int64)
    n_distinct = 0
    for r in range(n_rows):
        slot = _row_hash(rows, r) & mask
        while True:
            held = slots[slot]
            if held < 0:
                slots[slot] = n_distinct
                first[n_distinct] = r
                inverse[r] = n_distinct
                n_distinct += 1
                break
            if _same_row(rows, first[held], r):
                inverse[r] = held
                break
            slot = (slot + np.uint64(1)) & mask
    return first[:n_distinct], inverse
