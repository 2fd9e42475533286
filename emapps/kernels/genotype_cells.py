"""The codes of imputed genotype cells (GT:DS:GP in hundredths) from each sample's two
haplotypes' ALT probabilities, in one pass over the (samples, sites) arrays."""

import numpy as np

from ._jit import kernel
from .parallel import map_chunks

#: samples per chunk (fixed; each sample's cells depend on its own row only)
SAMPLE_CHUNK = 64


@kernel()
def _cells_chunk(first, second, start, stop, gt, ds, gp0, gp1, gp2):
    for n in range(start, stop):
        for s in range(first.shape[1]):
            a, b = np.float64(first[n, s]), np.float64(second[n, s])
            gt[n, s] = 2 * (a > 0.5) + (b > 0.5)
            ds[n, s] = np.rint((a + b) * 100)
            gp0[n, s] = np.rint((1 - a) * (1 - b) * 100)
            gp1[n, s] = np.rint((a * (1 - b) + (1 - a) * b) * 100)
            gp2[n, s] = np.rint(a * b * 100)


def haplotype_cells(first, second) -> tuple:
    """(GT code 0-3 as 0|0, 0|1, 1|0, 1|1; DS, P(0), P(1), P(2) in hundredths), each
    (N, S) int16, of genotypes whose two haplotypes carry ALT with probabilities
    ``first`` and ``second`` (N, S; computed in double precision from either)."""
    codes = tuple(np.empty(first.shape, dtype=np.int16) for _ in range(5))
    map_chunks(lambda start, stop: _cells_chunk(first, second, start, stop, *codes),
               first.shape[0], SAMPLE_CHUNK)
    return codes
