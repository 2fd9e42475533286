"""A panel as blocks of consecutive sites over which its haplotypes take at most 255
distinct allele sequences (as Beagle's bref3 stores panels): each block keeps one byte
per haplotype (its sequence) and the sequences' alleles.  Imputing a site then sums a
sample's posterior by sequence, whatever the panel's size."""

import numpy as np

from .._jit import kernel
from ..parallel import map_chunks
from .composite import _window_of, composite_panel
from .haploid import LANES, forward, posterior_row, sites_by_marker

#: sequences per block: one byte per haplotype and block
MAX_SEQUENCES = 255


@kernel()
def next_labels(row, labels, out, parent, allele):
    """Extend a block by one site: haplotypes with sequence ``labels`` (H,) uint8 so far
    and alleles ``row`` (H,) get new sequences in ``out``, numbered by first appearance,
    each new sequence q continuing parent[q] with allele[q].  Returns the number of
    sequences, or -1 (``out`` unfinished) past MAX_SEQUENCES."""
    table = np.full(2 * MAX_SEQUENCES, -1, dtype=np.int64)
    count = 0
    for h in range(row.shape[0]):
        code = 2 * np.int64(labels[h]) + row[h]
        if table[code] < 0:
            if count == MAX_SEQUENCES:
                return -1
            table[code] = count
            parent[count] = labels[h]
            allele[count] = row[h]
            count += 1
        out[h] = table[code]
    return count


@kernel()
def _sequence_sum(row, labels, donors, totals):
    """totals[q] = the posterior ``row`` over composite columns whose donor's sequence
    (``labels``) is q."""
    totals[:] = 0.0
    for s in range(donors.shape[0]):
        totals[labels[donors[s]]] += row[s]


@kernel()
def _blocks_impute_chunk(rows, labels, block_of, site_ptr_seq, site_seqs, site_listed,
                         haplotypes, bounds, offsets, candidates, width, switch, mismatch,
                         site_order, site_ptr, weight, start, stop, out):
    """For samples [start, stop): the forward pass over each haplotype's composite
    panel, then the backward pass, which at each typed marker m gathers the posterior
    at m and m + 1 by sequence (once per block) and sums, for each site whose left
    marker is m, the sequences carrying its listed allele, interpolated by ``weight``."""
    n_markers = rows.shape[1]
    composite = np.empty((n_markers, width), dtype=np.uint8)
    donors = np.empty((bounds.shape[0] - 1, width), dtype=np.int64)
    alpha = np.empty((n_markers, width), dtype=np.float32)
    log_prefix = np.empty(n_markers)
    beta = np.empty(width, dtype=np.float32)
    weighted = np.empty(width, dtype=np.float32)
    pair = np.zeros((2, width), dtype=np.float32)   # the posterior at m and m + 1
    lanes = np.empty(2 * LANES)
    here_sums = np.zeros(256, dtype=np.float32)
    after_sums = np.zeros(256, dtype=np.float32)
    carried = np.zeros(256, dtype=np.float32)   # the sums at m + 1, in carried_block
    pending = np.zeros(256, dtype=np.float32)   # the sums at m to carry to m - 1
    window = _window_of(bounds, n_markers)
    for k in range(start, stop):
        composite_panel(rows, bounds, offsets[k], candidates, composite, donors)
        for c in range(2):
            observed = haplotypes[c, k]
            forward(composite, observed, switch, mismatch, alpha, log_prefix)
            beta[:] = 1.0
            carried_block = -1
            for m in range(n_markers - 1, -1, -1):
                here, after = posterior_row(composite, observed, switch, mismatch, alpha,
                                             m, beta, weighted, pair, lanes)
                own = window[m]
                following = own
                if m + 1 < n_markers:
                    following = window[m + 1]
                block, first_block, after_ready = -1, -1, False
                for p in range(site_ptr[m], site_ptr[m + 1]):
                    s = site_order[p]
                    if block_of[s] != block:
                        block = block_of[s]
                        _sequence_sum(here, labels[block], donors[own], here_sums)
                        after_ready = False
                        if first_block < 0:   # what marker m - 1 reads as its "after"
                            first_block = block
                            pending[:] = here_sums
                    w = weight[s]
                    if w > 0.0 and not after_ready:   # the sums at m + 1: reused if kept
                        if block == carried_block:
                            after_sums[:] = carried
                        else:
                            _sequence_sum(after, labels[block], donors[following],
                                          after_sums)
                        after_ready = True
                    share = 0.0
                    for q in range(site_ptr_seq[s], site_ptr_seq[s + 1]):
                        sequence = site_seqs[q]
                        share += (1.0 - w) * here_sums[sequence] + w * after_sums[sequence]
                    out[c, k, s] = share if site_listed[s] == 1 else 1.0 - share
                carried_block = first_block
                if first_block >= 0:
                    carried[:] = pending


def blocks_impute(rows, blocks, haplotypes, bounds, offsets, candidates, width, switch,
                  mismatch, left, weight):
    """(2, N, S) ALT probabilities (float32) of each sample's two haplotypes (2, N, M typed
    markers) over its composite panel of ``width`` columns built from ``rows`` (H, M),
    at the S sites of ``blocks`` (labels (B, H) uint8, each site's block, and per site
    the sequences carrying its listed allele in CSR form, with that allele): the
    posterior mass on columns whose donor's sequence carries the allele, interpolated
    between typed markers (site s lies ``weight[s]`` of the way from ``left[s]``)."""
    labels, block_of, pointer, sequences, listed = blocks
    out = np.empty(haplotypes.shape[:2] + (left.shape[0],), dtype=np.float32)
    order, site_ptr = sites_by_marker(left, rows.shape[1])
    map_chunks(lambda start, stop: _blocks_impute_chunk(
        rows, labels, block_of, pointer, sequences, listed, haplotypes, bounds, offsets,
        candidates, width, switch, mismatch, order, site_ptr, weight, start, stop, out),
        haplotypes.shape[1], 1)
    return out
