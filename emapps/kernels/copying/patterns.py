"""Candidate search over a window's distinct panel patterns: a window of typed markers
holds far fewer distinct haplotype patterns than the panel has haplotypes (about 100 in
100,000 simulated haplotypes over 32 array markers), so conflicts are counted once per
pattern and the haplotypes taken from the best patterns' member lists."""

import numpy as np

from .._jit import kernel
from ..parallel import map_chunks
from .matching import SAMPLE_CHUNK, _popcount, packed_lists


@kernel()
def _lowest_members(levels, level, base, n_patterns, member_ptr, members, skip, need, out,
                    used, heads, at):
    """Append to ``out`` (from ``used``) up to ``need`` haplotypes of the patterns whose
    conflicts are ``level``, lowest index first, none marked in ``skip``; returns the
    new length."""
    n_at = 0
    for p in range(n_patterns):
        if levels[p] == level:
            at[n_at] = base + p
            heads[n_at] = member_ptr[base + p]
            n_at += 1
    while need > 0:
        best, best_member = -1, -1
        for j in range(n_at):
            end = member_ptr[at[j] + 1]
            while heads[j] < end and skip[members[heads[j]]]:
                heads[j] += 1
            if heads[j] < end and (best < 0 or members[heads[j]] < best_member):
                best, best_member = j, members[heads[j]]
        if best < 0:
            break
        out[used] = best_member
        used += 1
        need -= 1
        heads[best] += 1
    return used


@kernel()
def _pattern_chunk(pattern_words, pattern_ptr, pattern_of, member_ptr, members, query_ones,
                   query_zeros, keep, start, stop, picks, counts):
    """As matching._nearest_chunk with span 0 and no owners, over patterns: for each
    query and window, the ``keep`` haplotypes with the fewest conflicts, those the query
    picked in the window before first among equals, then the lower index."""
    n_windows, n_haps = pattern_of.shape
    n_queries = query_ones.shape[1]
    widest = 0
    for w in range(n_windows):
        widest = max(widest, pattern_ptr[w + 1] - pattern_ptr[w])
    levels = np.empty(widest, dtype=np.int64)
    heads = np.empty(widest, dtype=np.int64)
    at = np.empty(widest, dtype=np.int64)
    previous = np.empty((n_queries, keep), dtype=np.int64)
    n_previous = np.zeros(n_queries, dtype=np.int64)
    chosen = np.empty(keep, dtype=np.int64)
    was_picked = np.zeros(n_haps, dtype=np.bool_)
    listed = np.full(n_haps, -1, dtype=np.int64)
    for k in range(start, stop):
        listed[:] = -1
        n_previous[:] = 0
        for w in range(n_windows):
            base = pattern_ptr[w]
            n_patterns = pattern_ptr[w + 1] - base
            total = 0
            for q in range(n_queries):
                for p in range(n_patterns):
                    word = pattern_words[base + p]
                    levels[p] = _popcount((word & query_zeros[k, q, w])
                                          | (~word & query_ones[k, q, w]))
                before = previous[q, :n_previous[q]]
                for h in before:
                    was_picked[h] = True
                used = 0
                for level in range(65):
                    if used == keep:
                        break
                    for h in before:
                        if used < keep and levels[pattern_of[w, h] - base] == level:
                            chosen[used] = h
                            used += 1
                    used = _lowest_members(levels, level, base, n_patterns, member_ptr,
                                           members, was_picked, keep - used, chosen, used,
                                           heads, at)
                for h in before:
                    was_picked[h] = False
                chosen[:used].sort()
                previous[q, :used] = chosen[:used]
                n_previous[q] = used
                for h in chosen[:used]:
                    if listed[h] != w:
                        listed[h] = w
                        picks[k, w, total] = h
                        total += 1
            counts[k, w] = total


def window_patterns(panel_ones) -> tuple:
    """The distinct patterns of each window of a bit-packed panel (H, W) uint64: their
    words (P,), the windows' ranges in them (W + 1,), each haplotype's pattern (W, H),
    and each pattern's haplotypes in CSR form (ascending)."""
    n_haps, n_windows = panel_ones.shape
    words, pattern_ptr = [], [0]
    pattern_of = np.empty((n_windows, n_haps), dtype=np.int64)
    members = np.empty(n_windows * n_haps, dtype=np.int64)
    sizes = []
    for w in range(n_windows):
        distinct, inverse, size = np.unique(panel_ones[:, w], return_inverse=True,
                                            return_counts=True)
        pattern_of[w] = pattern_ptr[-1] + inverse
        members[w * n_haps:(w + 1) * n_haps] = np.argsort(inverse, kind="stable")
        words.append(distinct)
        sizes.append(size)
        pattern_ptr.append(pattern_ptr[-1] + distinct.shape[0])
    member_ptr = np.concatenate([[0], np.cumsum(np.concatenate(sizes))])
    return (np.concatenate(words), np.array(pattern_ptr, dtype=np.int64), pattern_of,
            member_ptr.astype(np.int64), members)


def pattern_candidates(patterns, query_ones, query_zeros, keep) -> tuple:
    """(offsets (N, W + 1), candidates) as matching.nearest_haplotypes with span 0 and no
    owners, from :func:`window_patterns` of the panel: the same lists, at a cost that
    grows with the windows' distinct patterns instead of the panel's haplotypes."""
    n_samples, n_queries, n_words = query_ones.shape
    keep = min(keep, patterns[2].shape[1])
    picks = np.full((n_samples, n_words, n_queries * keep), -1, dtype=np.int64)
    counts = np.zeros((n_samples, n_words), dtype=np.int64)
    map_chunks(lambda start, stop: _pattern_chunk(*patterns, query_ones, query_zeros, keep,
                                                  start, stop, picks, counts),
               n_samples, SAMPLE_CHUNK)
    return packed_lists(picks, counts)
