"""Chunks of a chromosome for imputation in pieces: windows of equal genetic length
(cM) that overlap their neighbours, as Beagle's window and overlap parameters cut a
chromosome, spelt as regions for `emapps impute -r`."""

import numpy as np

from ..errors import UserInputError
from .io import CM_PER_BP


def chunk_regions(chrom, first, last, chunk_cm, overlap_cm, genetic_map=None) -> list:
    """Regions ``chrom:start-end`` covering bp ``first``..``last``: chunks of
    ``chunk_cm`` each reaching ``overlap_cm`` into the next, converted to bp through
    ``genetic_map`` ({chrom: (bp, cM)}, as read_genetic_map gives it) or 1 cM/Mb.  The
    last chunk takes the remainder when it is shorter than the overlap."""
    if chunk_cm <= 0 or overlap_cm < 0:
        raise UserInputError(f"chunks need chunk_cm > 0 and overlap_cm >= 0; got "
                             f"{chunk_cm} and {overlap_cm}")
    if genetic_map is None:   # 1 cM/Mb: a straight line through the origin
        map_bp = np.array([0.0, max(float(last), 1.0)])
        map_cm = map_bp * CM_PER_BP
    else:
        if chrom not in genetic_map:
            raise UserInputError(f"the genetic map has no chromosome {chrom}")
        map_bp, map_cm = (np.asarray(values, dtype=float) for values in genetic_map[chrom])
        if map_bp.shape[0] < 2 or map_cm[-1] <= map_cm[0]:
            raise UserInputError(f"the genetic map of chromosome {chrom} needs two points "
                                 f"of different cM")

    def to_bp(cm):
        return float(np.interp(cm, map_cm, map_bp))

    start_cm, end_cm = (float(np.interp(bp, map_bp, map_cm)) for bp in (first, last))
    regions, lower = [], start_cm
    while True:
        upper = lower + chunk_cm + overlap_cm
        begin = first if not regions else max(int(round(to_bp(lower))), first)
        if upper >= end_cm or end_cm - (lower + chunk_cm) < overlap_cm:
            regions.append(f"{chrom}:{begin}-{last}")
            return regions
        regions.append(f"{chrom}:{begin}-{min(int(round(to_bp(upper))), last)}")
        lower += chunk_cm
