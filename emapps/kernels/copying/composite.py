"""Composite panels (Beagle's composite reference haplotypes): each sample copies, window
by window, a short list of donors instead of the whole panel; the haploid model's
statistics, imputation and phase refinement over them."""

import numpy as np

from .._jit import kernel
from ..parallel import map_add, map_chunks
from .haploid import haploid_posterior, refine_phase

#: samples per chunk of refine_cohort (each chunk allocates its forward-backward scratch
#: once; samples are independent, so the chunking never changes a result)
REFINE_CHUNK = 4


@kernel()
def composite_panel(rows, bounds, offsets, candidates, out, donors):
    """One sample's composite haplotypes (Beagle's composite reference haplotypes) from
    the panel's haplotypes as ``rows`` (H, M):
    column s of ``out`` (M, L) copies donor donors[w, s] in window w, window w's donors
    being candidates[offsets[w]:offsets[w + 1]].  A donor listed in consecutive windows
    keeps its column, so a composite changes donor only where the lists do; columns
    beyond a window's list keep their last donor (or repeat the list at the start)."""
    width = out.shape[1]
    donor = np.full(width, -1, dtype=np.int64)
    column = np.full(rows.shape[0], -1, dtype=np.int64)  # a column copying each donor
    kept = np.empty(width, dtype=np.bool_)
    for w in range(bounds.shape[0] - 1):
        lo, hi = offsets[w], offsets[w + 1]
        placed = np.zeros(hi - lo, dtype=np.bool_)
        kept[:] = False
        for a in range(hi - lo):
            s = column[candidates[lo + a]]
            if s >= 0 and not kept[s]:
                kept[s] = placed[a] = True
        s = 0
        for a in range(hi - lo):
            if placed[a]:
                continue
            while s < width and kept[s]:
                s += 1
            if s == width:
                break
            if donor[s] >= 0 and column[donor[s]] == s:
                column[donor[s]] = -1
            donor[s] = candidates[lo + a]
            column[donor[s]] = s
            kept[s] = True
        for s in range(width):
            if donor[s] < 0:
                donor[s] = candidates[lo + s % (hi - lo)]
                if column[donor[s]] < 0:
                    column[donor[s]] = s
            donors[w, s] = donor[s]
        for s in range(width):
            row = rows[donor[s]]
            for m in range(bounds[w], bounds[w + 1]):
                out[m, s] = row[m]


@kernel()
def _window_of(bounds, n_markers):
    """(M,) the window holding each marker."""
    window = np.empty(n_markers, dtype=np.int64)
    for w in range(bounds.shape[0] - 1):
        window[bounds[w]:bounds[w + 1]] = w
    return window


@kernel(inline="always")
def _composite_buffers(n_markers, bounds, width):
    """Scratch of a haploid pass over one sample's composite panel: the panel (M, L), its
    donors per window, the posterior (M, L) and the expected jumps (M - 1)."""
    return (np.empty((n_markers, width), dtype=np.uint8),
            np.empty((bounds.shape[0] - 1, width), dtype=np.int64),
            np.empty((n_markers, width)), np.zeros(max(n_markers - 1, 0)))


@kernel()
def _reduced_statistics_chunk(rows, haplotypes, bounds, offsets, candidates, width,
                              switch, mismatch, start, stop):
    n_markers = rows.shape[1]
    composite, donors, posterior, jumps = _composite_buffers(n_markers, bounds, width)
    loglik = 0.0
    mismatches = 0.0
    observed = 0.0
    for k in range(start, stop):
        composite_panel(rows, bounds, offsets[k], candidates, composite, donors)
        for c in range(2):
            part, wrong, seen = haploid_posterior(composite, haplotypes[c, k], switch,
                                                  mismatch, posterior, jumps)
            loglik += part
            mismatches += wrong
            observed += seen
    return jumps, mismatches, observed, loglik


def reduced_statistics(rows, haplotypes, bounds, offsets, candidates, width, switch,
                       mismatch):
    """haploid_statistics of each sample's two haplotypes (2, N, M) over its composite
    panel of ``width`` columns (its candidates per window) instead of the whole panel."""
    return map_add(lambda start, stop: _reduced_statistics_chunk(
        rows, haplotypes, bounds, offsets, candidates, width, switch, mismatch, start,
        stop), haplotypes.shape[1], 1)


@kernel()
def _cohort_refine_chunk(rows, haplotypes, genotypes, bounds, offsets, candidates, switch,
                         mismatch, sweeps, width, precision, start, stop, out):
    n_markers = rows.shape[1]
    composite = np.empty((n_markers, width), dtype=np.uint8)
    donors = np.empty((bounds.shape[0] - 1, width), dtype=np.int64)
    alleles = np.empty((2, n_markers), dtype=np.int8)
    fills = np.empty((2, n_markers), dtype=np.int8)
    alpha = np.empty((2, n_markers, width), dtype=precision.dtype)
    weighted = np.empty((2, n_markers, width), dtype=precision.dtype)
    for k in range(start, stop):
        composite_panel(rows, bounds, offsets[k], candidates, composite, donors)
        for c in range(2):
            for m in range(n_markers):
                alleles[c, m] = haplotypes[c, k, m] if genotypes[k, m] >= 0 else -1
        refine_phase(composite, alleles, genotypes[k] == 1, switch, mismatch, sweeps, 50,
                     fills, alpha, weighted)
        for c in range(2):
            for m in range(n_markers):
                out[c, k, m] = alleles[c, m] if alleles[c, m] >= 0 else fills[c, m]


def refine_cohort(rows, haplotypes, genotypes, bounds, offsets, candidates, switch,
                  mismatch, sweeps, width, precision=np.float64):
    """(2, N, M) new phase of every sample of a cohort: refine_phase over the sample's
    composite panel of ``width`` columns (its candidates per window), each missing
    genotype's alleles set to the likelier copied allele of the haploid posterior.  The
    forward-backward passes run in ``precision`` (float32: twice the lanes)."""
    out = np.empty_like(haplotypes)
    like = np.empty(0, dtype=precision)
    map_chunks(lambda start, stop: _cohort_refine_chunk(
        rows, haplotypes, genotypes, bounds, offsets, candidates, switch, mismatch, sweeps,
        width, like, start, stop, out), haplotypes.shape[1], REFINE_CHUNK)
    return out
