"""Chromosome chunks of equal genetic length, overlapping by a set genetic distance."""

import numpy as np
import pytest

from emapps.errors import UserInputError
from emapps.impute.chunks import chunk_regions


def bounds(regions):
    return np.array([[int(x) for x in region.split(":")[1].split("-")] for region in regions])


def test_without_a_map_chunks_are_equal_in_bp_at_one_cm_per_mb():
    regions = chunk_regions("20", 1_000_000, 1_400_000, 0.09, 0.06)
    spans = bounds(regions)
    assert spans[0, 0] == 1_000_000 and spans[-1, 1] == 1_400_000
    np.testing.assert_array_equal(np.diff(spans[:, 0]), 90_000)       # 0.09 cM apart
    np.testing.assert_array_equal(spans[:-1, 1] - spans[1:, 0], 60_000)  # 0.06 cM overlap


def test_through_a_map_chunks_follow_the_genetic_length():
    genetic_map = {"20": (np.array([1e6, 3e6, 5e6]), np.array([0.0, 1.0, 5.0]))}
    spans = bounds(chunk_regions("20", 1_000_000, 5_000_000, 1.0, 0.2, genetic_map))
    # 0.5 cM per Mb up to 3 Mb, then 2 cM per Mb: chunks shrink fourfold in bp
    assert spans[1, 0] - spans[0, 0] == 2_000_000
    assert spans[3, 0] - spans[2, 0] == 500_000
    assert spans[0, 0] == 1_000_000 and spans[-1, 1] == 5_000_000
    assert (spans[:-1, 1] > spans[1:, 0]).all()                      # every junction overlaps


def test_a_short_chromosome_is_one_chunk_and_bad_sizes_are_refused():
    assert chunk_regions("1", 100, 5000, 20.0, 2.0) == ["1:100-5000"]
    with pytest.raises(UserInputError, match="chunk_cm"):
        chunk_regions("1", 100, 5000, 0.0, 2.0)
    with pytest.raises(UserInputError, match="no chromosome 2"):
        chunk_regions("2", 100, 5000, 1.0, 0.1, {"1": (np.array([0, 1e6]), np.array([0, 1.0]))})
