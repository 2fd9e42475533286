"""Bit-packed haplotype matching: the panel haplotypes with the fewest conflicts with a
query over each window, found by popcounts over 64-marker words."""

import numpy as np

from .._jit import kernel
from ..parallel import map_chunks

#: samples per chunk of the threaded search (fixed, so results do not depend on threads)
SAMPLE_CHUNK = 25


@kernel()
def _popcount(word):
    """Set bits of a uint64 (SWAR)."""
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + ((word >> np.uint64(2))
                                                     & np.uint64(0x3333333333333333))
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (word * np.uint64(0x0101010101010101)) >> np.uint64(56)


@kernel()
def pack_bits(flags, width):
    """(R, ceil(M / width)) uint64 words of boolean rows (R, M), ``width`` <= 64 columns
    a word: bit i of word w is column width * w + i."""
    n_rows, n_columns = flags.shape
    n_words = (n_columns + width - 1) // width
    out = np.zeros((n_rows, n_words), dtype=np.uint64)
    for r in range(n_rows):
        for c in range(n_columns):
            if flags[r, c]:
                out[r, c // width] |= np.uint64(1) << np.uint64(c % width)
    return out


@kernel()
def _match_runs(conflicts, width, out):
    """out[w] = the longest run of conflict-free markers that overlaps window w, over
    windows of ``width`` markers whose conflicts are the bits of conflicts[w]."""
    n_words = conflicts.shape[0]
    low = np.empty(n_words, dtype=np.int64)    # free markers at a window's start
    high = np.empty(n_words, dtype=np.int64)   # free markers at its end
    inner = np.empty(n_words, dtype=np.int64)  # its longest free run
    for w in range(n_words):
        word = conflicts[w]
        if word == 0:
            low[w] = high[w] = inner[w] = width
            continue
        previous, longest = -1, 0
        while word:  # over the set bits, lowest first
            bit = np.int64(_popcount((word & (~word + np.uint64(1))) - np.uint64(1)))
            if previous < 0:
                low[w] = bit
            longest = max(longest, bit - previous - 1)
            previous = bit
            word &= word - np.uint64(1)
        high[w] = width - 1 - previous
        inner[w] = max(longest, high[w])
    before = 0  # free markers running into window w from the left
    for w in range(n_words):
        out[w] = before + width if conflicts[w] == 0 else max(before + low[w], inner[w])
        before = before + width if conflicts[w] == 0 else high[w]
    after = 0
    for w in range(n_words - 1, -1, -1):
        if conflicts[w] == 0:
            out[w] += after
            after += width
        else:
            out[w] = max(out[w], high[w] + after)
            after = low[w]


@kernel()
def _nearest_chunk(panel_ones, panel_zeros, query_ones, query_zeros, owners, keep, span,
                   by_run, width, n_markers, start, stop, picks, counts):
    """For samples [start, stop) and each window w (one packed word of ``width``
    markers), the ``keep`` panel haplotypes nearest each of the sample's queries (a
    conflict: the panel has 1 where the query says 0, or 0 where it says 1): with
    ``by_run``, those with the longest conflict-free run overlapping w, else those with
    the fewest conflicts over windows w - span .. w + span, window w counted twice.
    Ties go to the query's picks in window w - 1, then to the lower index; never the
    sample's own (``owners``).  The union goes into picks[k, w] (counts[k, w] used)."""
    n_haps, n_words = panel_ones.shape
    n_queries = query_ones.shape[1]
    worst = width * n_words if by_run else width * (2 * span + 2)
    excluded = 2 * worst + 2   # above any ranked distance
    # window-major, so a window's distances are one vectorised pass over haplotypes
    prefix = np.empty((n_words + 1, n_haps), dtype=np.int64)
    conflicts = np.empty((n_words, n_haps), dtype=np.int64)
    words = np.empty(n_words, dtype=np.uint64)
    runs = np.empty(n_words, dtype=np.int64)
    distance = np.empty(n_haps, dtype=np.int64)
    picked = np.zeros(n_haps, dtype=np.bool_)
    listed = np.full(n_haps, -1, dtype=np.int64)   # the last window listing each
    histogram = np.empty(excluded + 1, dtype=np.int64)
    beyond = np.uint64(0)  # bits past the last marker end every run
    for bit in range(n_markers - width * (n_words - 1), width):
        beyond |= np.uint64(1) << np.uint64(bit)
    for k in range(start, stop):
        listed[:] = -1
        for w in range(n_words):
            counts[k, w] = 0
        for q in range(n_queries):
            picked[:] = False
            for h in range(n_haps):
                prefix[0, h] = 0
                for w in range(n_words):
                    words[w] = ((panel_ones[h, w] & query_zeros[k, q, w])
                                | (panel_zeros[h, w] & query_ones[k, q, w]))
                    conflicts[w, h] = _popcount(words[w])
                    prefix[w + 1, h] = prefix[w, h] + conflicts[w, h]
                if by_run:  # a run's shortfall from the whole region
                    words[n_words - 1] |= beyond
                    _match_runs(words, width, runs)
                    for w in range(n_words):
                        conflicts[w, h] = worst - runs[w]
            for w in range(n_words):
                lo, hi = max(w - span, 0), min(w + span + 1, n_words)
                for h in range(n_haps):  # doubled, plus one unless picked in window w - 1
                    ranked = conflicts[w, h] if by_run else (prefix[hi, h] - prefix[lo, h]
                                                             + conflicts[w, h])
                    distance[h] = 2 * ranked + (0 if picked[h] else 1)
                for own in owners[k]:
                    if own >= 0:
                        distance[own] = excluded
                histogram[:] = 0
                for h in range(n_haps):
                    histogram[distance[h]] += 1
                limit, below = 0, 0  # the smallest distance whose count reaches keep
                while limit < excluded and below + histogram[limit] < keep:
                    below += histogram[limit]
                    limit += 1
                at_limit = keep - below
                used = counts[k, w]
                for h in range(n_haps):
                    d = distance[h]
                    picked[h] = False
                    if d > limit or d == excluded:
                        continue
                    if d == limit:
                        if at_limit == 0:
                            continue
                        at_limit -= 1
                    picked[h] = True
                    picks[k, w, used] = h
                    used += 1
                counts[k, w] = used
        for w in range(n_words):  # the union: each haplotype once per window
            used = 0
            for u in range(counts[k, w]):
                h = picks[k, w, u]
                if listed[h] != w:
                    listed[h] = w
                    picks[k, w, used] = h
                    used += 1
            picks[k, w, used:counts[k, w]] = -1
            counts[k, w] = used


def nearest_haplotypes(panel_ones, panel_zeros, query_ones, query_zeros, owners, keep,
                       span=0, by_run=False, width=64, n_markers=None):
    """Candidate lists per sample and window of packed markers (see _nearest_chunk) as
    (offsets (N, W + 1), candidates); ``n_markers`` defaults to full words."""
    n_samples, n_queries, n_words = query_ones.shape
    picks = np.full((n_samples, n_words, n_queries * keep), -1, dtype=np.int64)
    counts = np.zeros((n_samples, n_words), dtype=np.int64)
    if n_markers is None:
        n_markers = width * n_words
    map_chunks(lambda start, stop: _nearest_chunk(
        panel_ones, panel_zeros, query_ones, query_zeros, owners, keep, span, by_run, width,
        n_markers, start, stop, picks, counts), n_samples, SAMPLE_CHUNK)
    return packed_lists(picks, counts)


def packed_lists(picks, counts) -> tuple:
    """Per-sample, per-window lists picks (N, W, width) (-1 past counts (N, W)) as
    (offsets (N, W + 1) into one flat array, that array)."""
    n_samples, n_windows = counts.shape
    offsets = np.zeros((n_samples, n_windows + 1), dtype=np.int64)
    offsets[:, 1:] = np.cumsum(counts, axis=1)
    offsets += np.concatenate([[0], np.cumsum(counts.sum(axis=1))[:-1]])[:, None]
    return offsets, picks[picks >= 0]
