"""The positional Burrows-Wheeler transform (Durbin 2014) of panel haplotypes with query
haplotypes sorted among them: at chosen markers, the panel haplotypes with the longest
exact matches to each query ending there.  One pass costs (panel + queries) x markers,
shared by all queries, instead of queries x panel x markers for a scan."""

import numpy as np

from .._jit import kernel


@kernel()
def _sort_step(panel, queries, m, order, divergence, step, zeros, ones, zeros_div,
               ones_div):
    """Durbin's algorithm 2: ``order`` sorted by the reversed prefixes up to the marker
    before, becomes sorted up to marker m (``step`` markers already done); divergence[i]
    is the step where the match of order[i] with order[i - 1] starts."""
    n_panel = panel.shape[1]
    n_zeros = n_ones = 0
    p = q = step + 1
    for i in range(order.shape[0]):
        column = order[i]
        start = divergence[i]
        if start > p:
            p = start
        if start > q:
            q = start
        allele = panel[m, column] if column < n_panel else queries[m, column - n_panel]
        if allele == 0:
            zeros[n_zeros] = column
            zeros_div[n_zeros] = p
            n_zeros += 1
            p = 0
        else:
            ones[n_ones] = column
            ones_div[n_ones] = q
            n_ones += 1
            q = 0
    order[:n_zeros] = zeros[:n_zeros]
    order[n_zeros:] = ones[:n_ones]
    divergence[:n_zeros] = zeros_div[:n_zeros]
    divergence[n_zeros:] = ones_div[:n_ones]


@kernel()
def _nearest_in_order(order, divergence, position, n_panel, own, keep, out):
    """The ``keep`` panel haplotypes nearest position ``position`` of the sorted order,
    longest match first (the running maximum of divergence up or down; up on ties),
    except those in ``own``; -1 pads ``out``."""
    n_columns = order.shape[0]
    up, down = position - 1, position + 1
    up_start = divergence[position]
    down_start = divergence[down] if down < n_columns else 0
    taken = 0
    while taken < keep and (up >= 0 or down < n_columns):
        if down >= n_columns or (up >= 0 and up_start <= down_start):
            column = order[up]
            if divergence[up] > up_start:
                up_start = divergence[up]
            up -= 1
        else:
            column = order[down]
            down += 1
            if down < n_columns and divergence[down] > down_start:
                down_start = divergence[down]
        if column >= n_panel or column == own[0] or column == own[1]:
            continue
        out[taken] = column
        taken += 1
    out[taken:] = -1


@kernel()
def longest_matches(panel, queries, owners, stops, keep, reverse, picks):
    """For each query of ``queries`` (M, Q) and each marker step in ``stops``
    (ascending; markers taken from the last when ``reverse``), the ``keep`` haplotypes
    of ``panel`` (M, H) with the longest exact matches ending there, never the query's
    ``owners`` (Q, 2): picks (Q, len(stops), keep), -1 padded."""
    n_markers, n_panel = panel.shape
    n_columns = n_panel + queries.shape[1]
    order = np.arange(n_columns).astype(np.int64)
    divergence = np.zeros(n_columns, dtype=np.int64)
    zeros = np.empty(n_columns, dtype=np.int64)
    ones = np.empty(n_columns, dtype=np.int64)
    zeros_div = np.empty(n_columns, dtype=np.int64)
    ones_div = np.empty(n_columns, dtype=np.int64)
    count = queries.shape[1]
    where = np.empty(count, dtype=np.int64)
    stop = 0
    for step in range(n_markers):
        m = n_markers - 1 - step if reverse else step
        _sort_step(panel, queries, m, order, divergence, step, zeros, ones, zeros_div,
                   ones_div)
        if stop == stops.shape[0] or stops[stop] != step:
            continue
        for i in range(n_columns):
            if order[i] >= n_panel:
                where[order[i] - n_panel] = i
        for query in range(count):
            _nearest_in_order(order, divergence, where[query], n_panel, owners[query],
                              keep, picks[query, stop])
        stop += 1


@kernel()
def interleave_matches(forward, backward, first_query, second_query, keep, n_columns,
                       out, counts):
    """Per window, one sample's candidates (written to out[w], their number to
    counts[w]): for each of its two queries in turn, up to ``keep`` of its picks, best
    first, interleaved from four lists: the matches ending at the window's last marker
    (forward[q, w]) and starting at its first (backward[q, w]), then those ending just
    before it and starting just after it, which reach into it from either side (a
    phase error inside the window cuts the first two short).  Each column listed once."""
    n_windows, depth = forward.shape[1], forward.shape[2]
    listed = np.full(n_columns, -1, dtype=np.int64)
    lists = np.empty(4, dtype=np.int64)
    for w in range(n_windows):
        used = 0
        for query in (first_query, second_query):
            taken = 0
            for rank in range(depth):
                lists[0] = forward[query, w, rank]
                lists[1] = backward[query, w, rank]
                lists[2] = forward[query, w - 1, rank] if w > 0 else -1
                lists[3] = backward[query, w + 1, rank] if w + 1 < n_windows else -1
                for column in lists:
                    if taken == keep or column < 0 or listed[column] == w:
                        continue
                    listed[column] = w
                    out[w, used] = column
                    used += 1
                    taken += 1
        counts[w] = used
