"""The copying model's state-space reduction: the panel haplotypes each sample copies
from per window, the carriers of each site's rarer allele, and interpolation between
typed markers."""

import numpy as np

from ..kernels.copying.matching import nearest_haplotypes, pack_bits


#: typed markers per window of phasing candidates (one bit-packed word, <= 64)
WINDOW = 32


def carriers_of(hap_panel, halves=None) -> tuple:
    """Per site (rows of ``hap_panel`` (S, H), 0/1) the haplotypes carrying its rarer
    allele in CSR form, and which allele that is: (pointer, carriers, listed).
    ``halves`` (S, H) marks alleles of unknown phase (their entries read 1): a
    heterozygote's ALT counts half on each of its two haplotypes, listed as -(h + 1).

    >>> panel = np.array([[0, 1, 1, 0], [1, 1, 1, 0]], dtype=np.uint8)
    >>> carriers_of(panel)   # site 0 lists its ALT carriers, site 1 its REF carrier
    (array([0, 2, 3]), array([1, 2, 3], dtype=int16), array([1, 0], dtype=int8))
    """
    if halves is None:
        halves = np.zeros(hap_panel.shape, dtype=bool)
    alt_count = hap_panel.sum(axis=1, dtype=np.int64) - 0.5 * halves.sum(axis=1)
    listed = (alt_count <= hap_panel.shape[1] / 2).astype(np.int8)
    carrying = halves | (hap_panel == listed[:, None])
    sites, haplotypes = np.nonzero(carrying)
    haplotypes = np.where(halves[sites, haplotypes], -haplotypes - 1, haplotypes)
    pointer = np.concatenate([[0], np.cumsum(np.bincount(sites, minlength=hap_panel.shape[0]))])
    # the narrowest index type: the carrier lists are streamed once per haplotype
    index = np.int16 if hap_panel.shape[1] < 2 ** 15 else np.int32
    return pointer.astype(np.int64), haplotypes.astype(index), listed


def interpolation(typed_cm, centimorgans) -> tuple:
    """Each site's typed marker on the left (``left``) and its ``weight``, the share of
    the genetic distance to the next typed marker covered (0 beyond the ends).

    >>> interpolation(np.array([0.0, 1.0, 3.0]), np.array([0.5, 1.0, 2.0, 4.0]))
    (array([0, 1, 1, 2]), array([0.5, 0. , 0.5, 0. ]))
    """
    left = np.clip(np.searchsorted(typed_cm, centimorgans, side="right") - 1, 0,
                   len(typed_cm) - 1)
    span = np.diff(typed_cm)
    step = np.where(left < len(typed_cm) - 1, span[np.minimum(left, len(span) - 1)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(step > 0, (centimorgans - typed_cm[left]) / step, 0.0)
    return left, np.clip(weight, 0.0, 1.0)


def window_candidates(panel, genotypes, keep, previous=None, owners=None,
                      window=WINDOW, span=0, by_run=False) -> tuple:
    """Candidate haplotypes for the diploid Viterbi path: per sample and window of
    ``window`` (<= 64) markers, the ``keep`` haplotypes of ``panel`` (M, H) with the
    fewest conflicts with the sample over the window and ``span`` windows each side (the
    window itself counted twice), or with ``by_run`` the longest conflict-free run
    overlapping the window.  Conflicts are opposite homozygotes with its genotypes
    (N, M), or, given a ``previous`` phasing (2, N, M), differing alleles with each of its
    two haplotypes (the union of both).  ``owners`` (N, 2) are haplotypes a sample may not
    copy (its own).  Returns (window bounds, offsets (N, W + 1), candidates)."""
    rows = panel.T
    if previous is None:
        queries = [(genotypes == 2, genotypes == 0)]
    else:
        queries = [(previous[copy] == 1, previous[copy] == 0) for copy in (0, 1)]
    query_ones = np.stack([pack_bits(ones, window) for ones, _ in queries], axis=1)
    query_zeros = np.stack([pack_bits(zeros, window) for _, zeros in queries], axis=1)
    if owners is None:
        owners = np.full((genotypes.shape[0], 2), -1, dtype=np.int64)
    offsets, candidates = nearest_haplotypes(
        pack_bits(rows == 1, window), pack_bits(rows == 0, window), query_ones, query_zeros,
        owners, min(keep, panel.shape[1]), span, by_run, window, panel.shape[0])
    bounds = np.append(np.arange(0, panel.shape[0], window), panel.shape[0])
    return bounds.astype(np.int64), offsets, candidates
