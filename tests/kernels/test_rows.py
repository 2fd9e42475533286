"""Hashed distinct rows against numpy's sort-based unique."""

import numpy as np
import pytest

from emapps.kernels.rows import unique_rows


@pytest.mark.parametrize("shape, high", [((5000, 3), 6), ((800, 100), 2), ((1, 4), 3),
                                         ((300, 1), 40)])
def test_unique_rows_finds_numpys_rows_in_order_of_appearance(shape, high):
    rows = np.random.default_rng(shape[0]).integers(0, high, size=shape).astype(np.int16)
    first, inverse = unique_rows(rows)
    expected = np.unique(rows, axis=0)
    assert first.shape[0] == expected.shape[0]
    np.testing.assert_array_equal(np.unique(rows[first], axis=0), expected)
    np.testing.assert_array_equal(rows[first][inverse], rows)
    assert np.all(np.diff(first) > 0), "distinct rows are numbered by first appearance"
    assert np.array_equal(first, np.sort(np.unique(inverse, return_index=True)[1]))


def test_unique_rows_of_nothing_is_empty():
    first, inverse = unique_rows(np.zeros((0, 3), dtype=np.int16))
    assert first.shape == (0,) and inverse.shape == (0,)
