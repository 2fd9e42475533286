"""The copying model's state-space reduction: the panel haplotypes each sample copies
from per window, the carriers of each site's rarer allele, and interpolation between
typed markers."""

import numpy as np

from ..kernels.copying.matching import nearest_haplotypes, pack_bits, packed_lists
from ..kernels.copying.patterns import pattern_candidates, window_patterns
from ..kernels.copying.pbwt import interleave_matches, longest_matches
from ..kernels.parallel import map_chunks


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


def _query_words(genotypes, previous, window) -> tuple:
    """Bit-packed (N, Q, W) words of what each sample's queries say is ALT and REF: its
    homozygotes (no ``previous``), or each haplotype of the ``previous`` phasing."""
    if previous is None:
        queries = [(genotypes == 2, genotypes == 0)]
    else:
        queries = [(previous[copy] == 1, previous[copy] == 0) for copy in (0, 1)]
    return (np.stack([pack_bits(ones, window) for ones, _ in queries], axis=1),
            np.stack([pack_bits(zeros, window) for _, zeros in queries], axis=1))


def window_bounds(n_markers, window=WINDOW) -> np.ndarray:
    return np.append(np.arange(0, n_markers, window), n_markers).astype(np.int64)


def window_candidates(panel, genotypes, keep, previous=None, owners=None,
                      window=WINDOW, span=0, by_run=False) -> tuple:
    """Candidate haplotypes for the diploid Viterbi path: per sample and window of
    ``window`` (<= 64) markers, the ``keep`` haplotypes of ``panel`` (M, H) with the
    fewest conflicts with the sample over the window and ``span`` windows each side (the
    window itself counted twice), or with ``by_run`` the longest conflict-free run
    overlapping the window.  Conflicts are opposite homozygotes with its genotypes
    (N, M), or, given a ``previous`` phasing (2, N, M), differing alleles with each of its
    two haplotypes (the union of both).  ``owners`` (N, 2) are haplotypes a sample may not
    copy (its own).  Every panel haplotype is scored for every sample: the reference
    for :class:`CandidateSearch`.  Returns (window bounds, offsets (N, W + 1),
    candidates)."""
    rows = panel.T
    query_ones, query_zeros = _query_words(genotypes, previous, window)
    if owners is None:
        owners = np.full((genotypes.shape[0], 2), -1, dtype=np.int64)
    offsets, candidates = nearest_haplotypes(
        pack_bits(rows == 1, window), pack_bits(rows == 0, window), query_ones, query_zeros,
        owners, min(keep, panel.shape[1]), span, by_run, window, panel.shape[0])
    return window_bounds(panel.shape[0], window), offsets, candidates


#: how candidates are found: from the panel's index (distinct patterns per window and
#: the positional BWT; cost independent of the panel's size per sample) or by scoring
#: every panel haplotype for every sample (the reference)
SEARCHES = ("index", "scan")


class CandidateSearch:
    """The candidate searches of panel imputation over one typed panel (M, H).

    ``fewest_conflicts`` gives :func:`window_candidates`' lists (span 0); with mode
    'index' they are the same lists, found over each window's distinct patterns.
    ``longest_runs`` gives per window the haplotypes with the longest matches: in
    'scan' mode the longest conflict-free runs overlapping the window, in 'index' mode
    the longest exact matches into the window from either side (the positional BWT)."""

    def __init__(self, panel, mode="index"):
        self.panel, self.mode = panel, mode
        self._patterns = None
        self._commoner = None

    def fewest_conflicts(self, genotypes, keep) -> tuple:
        """Per sample and window, the ``keep`` haplotypes with the fewest opposite
        homozygotes with its genotypes (N, M)."""
        if self.mode == "scan":
            return window_candidates(self.panel, genotypes, keep)
        if self._patterns is None:
            self._patterns = window_patterns(pack_bits(self.panel.T == 1, WINDOW))
        offsets, candidates = pattern_candidates(
            self._patterns, *_query_words(genotypes, None, WINDOW), keep)
        return window_bounds(self.panel.shape[0]), offsets, candidates

    def longest_runs(self, haplotypes, keep, states=None, owners=None) -> tuple:
        """Per sample and window, about ``keep`` candidates for each of its haplotypes
        (2, N, M) among ``states`` (M, C; the panel by default), never its ``owners``."""
        states = self.panel if states is None else states
        if self.mode == "scan":
            return window_candidates(states, haplotypes[0], keep, haplotypes, owners,
                                     by_run=True)
        if self._commoner is None:   # what a missing allele reads as, marker by marker
            self._commoner = commoner_alleles(self.panel)
        return match_candidates(states, haplotypes, keep, owners, self._commoner)


#: query haplotypes sorted into one PBWT pass: bounds the (queries, windows, keep) picks
QUERY_CHUNK = 1024


def commoner_alleles(panel) -> np.ndarray:
    """(M,) uint8: the allele most of the panel's (M, H) haplotypes carry at each marker."""
    return (2 * panel.sum(axis=1, dtype=np.int64) > panel.shape[1]).astype(np.uint8)


def match_candidates(panel, haplotypes, keep, owners=None, fill=None,
                     window=WINDOW) -> tuple:
    """Candidates as :func:`window_candidates` with ``by_run``, found by the positional
    BWT of ``panel`` (M, H) with the samples' phased haplotypes (2, N, M) sorted in: per
    window of ``window`` markers and haplotype, the ``keep`` panel haplotypes with the
    longest exact matches ending at the window's last marker or starting at its first,
    interleaved, never the sample's ``owners`` (N, 2).  Missing alleles read as ``fill``
    (M,), by default the panel's commoner allele.  A pass costs (H + 2N) x M, not N x H x M."""
    n_markers, n_panel = panel.shape
    n_samples = haplotypes.shape[1]
    fill = commoner_alleles(panel) if fill is None else fill
    queries = np.where(haplotypes < 0, fill[None, None, :], haplotypes).astype(np.uint8)
    queries = np.ascontiguousarray(queries.reshape(-1, n_markers).T)   # (M, 2N)
    if owners is None:
        owners = np.full((n_samples, 2), -1, dtype=np.int64)
    bounds = window_bounds(n_markers, window)
    ends = bounds[1:] - 1
    starts = (n_markers - 1 - bounds[:-1])[::-1].copy()
    n_windows = ends.shape[0]
    keep = min(keep, n_panel - int((owners >= 0).any()) * 2)
    picks = np.full((n_samples, n_windows, 2 * keep), -1, dtype=np.int32)
    counts = np.zeros((n_samples, n_windows), dtype=np.int64)
    chunk = max(QUERY_CHUNK // 2, 1)    # samples per pass, both haplotypes of each
    for first in range(0, n_samples, chunk):
        samples = np.arange(first, min(first + chunk, n_samples))
        columns = np.concatenate([samples, n_samples + samples])
        part = np.ascontiguousarray(queries[:, columns])
        part_owners = np.ascontiguousarray(np.concatenate([owners[samples]] * 2))

        def search(reverse):
            found = np.empty((columns.shape[0], n_windows, keep), dtype=np.int32)
            longest_matches(panel, part, part_owners, starts if reverse else ends, keep,
                            reverse, found)
            return np.ascontiguousarray(found[:, ::-1]) if reverse else found
        forward, backward = map_chunks(lambda start, stop: search(start == 1), 2, 1)
        for index, sample in enumerate(samples):
            interleave_matches(forward, backward, index, index + samples.shape[0], keep,
                               n_panel, picks[sample], counts[sample])
    return (bounds, *packed_lists(picks, counts))
