"""Li & Stephens copying HMMs over a reference panel (imputation and phasing).

A haplotype copies one of H panel haplotypes, switching between markers m and m + 1 with
probability rho_m to a haplotype drawn uniformly (P(h' | h) = (1 - rho_m) [h' = h] +
rho_m / H) and matching the copied allele except with probability eps.  The haploid
forward-backward runs in scaled space in O(H) per marker; its E-step statistics are the
expected number of switches per interval and of mismatches.  The diploid model copies
two haplotypes from a short list of L candidates; its Viterbi path, in O(L^2) per
marker, phases a genotype.  Panels are site-major: ``panel[m, h]`` is 0/1.

Every pass of the copying model uses strict floating point, with sums over haplotypes
in LANES fixed lanes of doubles: with reassociation, one kernel compiled in two contexts
(fresh, or loaded from numba's cache after other kernels) was seen to sum in different
orders.
Phase moves chosen on near-equal scores then differed between runs (tested), and EM
statistics that differed in the last bits led round 2 of panel mode to another phasing.
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .parallel import map_add, map_chunks

#: haplotypes (samples for the cluster model) per chunk of the threaded passes (fixed, so
#: results do not depend on threads)
HAPLOTYPE_CHUNK = 8
SAMPLE_CHUNK = 25
#: samples per chunk of refine_cohort (each chunk allocates its forward-backward scratch
#: once; samples are independent, so the chunking never changes a result)
REFINE_CHUNK = 4


@kernel(inline="always")
def _term(first, second, h, product):
    return first[h] * second[h] if product else first[h]


#: lanes of the fixed-order sums over haplotypes
LANES = 64


@kernel(inline="always")
def _lane_sum(first, second, product, lanes):
    """sum_h first[h] (times second[h] when ``product``) in a fixed order that vectorises:
    ``lanes`` (LANES doubles, scratch) sum h = l mod LANES block by block (vertical adds),
    then combine pairwise (strict floating point, so a compiled and a cached kernel give
    the same bits)."""
    n = first.shape[0]
    whole = n - n % LANES
    for lane in range(LANES):
        lanes[lane] = 0.0
    for start in range(0, whole, LANES):
        block_first = first[start:start + LANES]
        block_second = second[start:start + LANES]
        for lane in range(LANES):
            lanes[lane] += _term(block_first, block_second, lane, product)
    rest = 0.0
    for h in range(whole, n):
        rest += _term(first, second, h, product)
    width = LANES
    while width > 1:
        width //= 2
        for lane in range(width):
            lanes[lane] += lanes[lane + width]
    return lanes[0] + rest


@kernel()
def _emit(panel_row, observed, mismatch, out):
    """out[h] = P(observed | copying h); 1 when the allele is missing; 0 for a panel
    entry of 2 (a haplotype that may not be copied, e.g. the sample's own).  In out's
    precision."""
    same = out.dtype.type(1.0 if observed < 0 else 1.0 - mismatch)
    other = out.dtype.type(1.0 if observed < 0 else mismatch)
    never = out.dtype.type(0.0)
    for h in range(panel_row.shape[0]):
        allele = panel_row[h]
        out[h] = never if allele == 2 else (same if allele == observed or observed < 0
                                            else other)


@kernel()
def _forward(panel, observed, switch, mismatch, alpha, log_prefix):
    """Scaled forward pass: alpha[m] = P(copying h at m | x_1..m); log_prefix[m] =
    log P(x_1..m).  In alpha's precision (float64, or float32 for twice the lanes)."""
    n_markers, n_haps = panel.shape
    real = alpha.dtype.type
    emit = np.empty(n_haps, dtype=alpha.dtype)
    lanes = np.empty(LANES)
    total_log = 0.0
    for m in range(n_markers):
        _emit(panel[m], observed[m], mismatch, emit)
        if m == 0:
            start = real(1.0 / n_haps)
            for h in range(n_haps):
                alpha[0, h] = emit[h] * start
        else:
            stay = real(1.0 - switch[m - 1])
            land = real(switch[m - 1] / n_haps)
            for h in range(n_haps):
                alpha[m, h] = emit[h] * (stay * alpha[m - 1, h] + land)
        total = _lane_sum(alpha[m], alpha[m], False, lanes)
        inverse = real(1.0 / total)
        for h in range(n_haps):
            alpha[m, h] *= inverse
        total_log += math.log(total)
        log_prefix[m] = total_log


@kernel(inline="always")
def _backward_step(panel_row, observed, switch, mismatch, alpha_row, beta, weighted, emit,
                   lanes):
    """beta <- beta_m from beta_m+1 and marker m + 1's ``panel_row`` and ``observed``:
    beta_m(h) = [(1 - rho) e b(h) + rho / H sum e b] / c_m+1, where c_m+1 = sum_h
    alpha_m(h) (1 - rho) e b(h) + rho / H sum e b, in beta's precision.  Returns the
    expected switch in the interval, (rho / H sum e b) / c_m+1."""
    n_haps = panel_row.shape[0]
    real = beta.dtype.type
    _emit(panel_row, observed, mismatch, emit)
    for h in range(n_haps):
        weighted[h] = emit[h] * beta[h]
    stay = real(1.0 - switch)
    land = real(switch / n_haps)
    flow = _lane_sum(weighted, weighted, False, lanes)
    scale = stay * _lane_sum(alpha_row, weighted, True, lanes) + land * flow
    keep = real(stay / scale)
    enter = land * flow / scale
    entering = real(enter)
    for h in range(n_haps):
        beta[h] = weighted[h] * keep + entering
    return enter


@kernel(inline="always")
def _posterior_row(panel, observed, switch, mismatch, alpha, m, beta, weighted, emit, rows,
                   lanes):
    """The backward pass's step to marker m (M - 1 down to 0; ``beta`` starts at ones):
    rows[m % 2] <- the posterior at m, alpha_m beta_m; rows[(m + 1) % 2] holds the one at
    m + 1.  Returns (posterior at m, posterior at m + 1)."""
    if m < panel.shape[0] - 1:
        _backward_step(panel[m + 1], observed[m + 1], switch[m], mismatch, alpha[m], beta,
                       weighted, emit, lanes)
    here = rows[m % 2]
    for h in range(here.shape[0]):
        here[h] = alpha[m, h] * beta[h]
    return here, rows[(m + 1) % 2]


@kernel()
def haploid_posterior(panel, observed, switch, mismatch, posterior, jumps):
    """Posterior P(copying h at marker m) into ``posterior`` (M, H); adds the expected
    switches of each interval into ``jumps`` (M - 1); returns (log-likelihood, expected
    mismatches, observed markers)."""
    n_markers, n_haps = panel.shape
    emit = np.empty(n_haps)
    log_prefix = np.empty(n_markers)
    _forward(panel, observed, switch, mismatch, posterior, log_prefix)
    loglik = log_prefix[n_markers - 1]
    beta = np.ones(n_haps)
    weighted = np.empty(n_haps)
    differs = np.empty(n_haps)
    lanes = np.empty(LANES)
    mismatches = 0.0
    observed_count = 0.0
    for m in range(n_markers - 1, -1, -1):
        if m < n_markers - 1:
            jumps[m] += _backward_step(panel[m + 1], observed[m + 1], switch[m], mismatch,
                                       posterior[m], beta, weighted, emit, lanes)
        row = posterior[m]
        for h in range(n_haps):
            row[h] *= beta[h]
        if observed[m] >= 0:
            observed_count += 1.0
            for h in range(n_haps):
                differs[h] = 1.0 if panel[m, h] != observed[m] else 0.0
            mismatches += _lane_sum(row, differs, True, lanes)
    return loglik, mismatches, observed_count


@kernel()
def _haploid_statistics_chunk(panel, haplotypes, switch, mismatch, start, stop):
    n_markers, n_haps = panel.shape
    posterior = np.empty((n_markers, n_haps))
    jumps = np.zeros(max(n_markers - 1, 0))
    loglik = 0.0
    mismatches = 0.0
    observed = 0.0
    for k in range(start, stop):
        part, wrong, seen = haploid_posterior(panel, haplotypes[k], switch, mismatch,
                                              posterior, jumps)
        loglik += part
        mismatches += wrong
        observed += seen
    return jumps, mismatches, observed, loglik


def haploid_statistics(panel, haplotypes, switch, mismatch):
    """E-step over target haplotypes (N, M) of -1/0/1: (expected switches per interval,
    expected mismatches, observed alleles, log-likelihood), summed in chunk order."""
    return map_add(lambda start, stop: _haploid_statistics_chunk(
        panel, haplotypes, switch, mismatch, start, stop), haplotypes.shape[0],
        HAPLOTYPE_CHUNK)


@kernel()
def _carrier_sum(here, after, weight, carriers, lo, hi):
    """(1 - weight) here[h] + weight after[h] summed over carriers[lo:hi] (an entry
    -(h + 1) adds half)."""
    near = 0.0
    far = 0.0
    for p in range(lo, hi):
        carrier = carriers[p]
        half = carrier < 0
        h = -carrier - 1 if half else carrier
        share = 0.5 if half else 1.0
        near += share * here[h]
        far += share * after[h]
    return (1.0 - weight) * near + weight * far


@kernel()
def _impute_one(panel, observed, switch, mismatch, carrier_ptr, carriers, carrier_allele,
                site_order, site_ptr, weight, needed, alpha, out):
    """One haplotype's alt-allele probabilities at every ``needed`` site into ``out``
    (the others keep their value): the sum over
    carriers of the site's listed allele of the posterior (half for an allele of unknown
    phase), interpolated between the flanking typed markers.  The forward-backward runs
    in the precision of ``alpha`` (M, H): float32 gives twice the lanes, and the
    probabilities are written to hundredths.  Sites are visited during the backward pass,
    marker by marker (``site_order`` in CSR form by left marker), so the posterior is
    never stored."""
    n_markers, n_haps = panel.shape
    _forward(panel, observed, switch, mismatch, alpha, np.empty(n_markers))
    beta = np.ones(n_haps, dtype=alpha.dtype)
    weighted = np.empty(n_haps, dtype=alpha.dtype)
    emit = np.empty(n_haps, dtype=alpha.dtype)
    rows = np.zeros((2, n_haps), dtype=alpha.dtype)   # the posterior at m and at m + 1
    lanes = np.empty(LANES)
    for m in range(n_markers - 1, -1, -1):
        here, after = _posterior_row(panel, observed, switch, mismatch, alpha, m, beta,
                                     weighted, emit, rows, lanes)
        for p in range(site_ptr[m], site_ptr[m + 1]):
            s = site_order[p]
            if not needed[s]:
                continue
            share = _carrier_sum(here, after, weight[s], carriers, carrier_ptr[s],
                                 carrier_ptr[s + 1])
            out[s] = share if carrier_allele[s] == 1 else 1.0 - share


def sites_by_marker(left, n_markers) -> tuple:
    """The sites in CSR form by their left typed marker: (order, pointers (M + 1))."""
    order = np.argsort(left, kind="stable")
    return order, np.searchsorted(left[order], np.arange(n_markers + 1)).astype(np.int64)


@kernel()
def _impute_chunk(panel, haplotypes, switch, mismatch, carrier_ptr, carriers, carrier_allele,
                  site_order, site_ptr, weight, start, stop, out):
    alpha = np.empty(panel.shape, dtype=np.float32)
    every = np.ones(weight.shape[0], dtype=np.bool_)
    for k in range(start, stop):
        _impute_one(panel, haplotypes[k], switch, mismatch, carrier_ptr, carriers,
                    carrier_allele, site_order, site_ptr, weight, every, alpha, out[k])


def impute_haplotypes(panel, haplotypes, switch, mismatch, carrier_ptr, carriers,
                      carrier_allele, left, weight):
    """(N, S) alt-allele probabilities of target haplotypes (N, M typed markers) at S panel
    sites; each site lists the panel haplotypes carrying its rarer allele
    (``carrier_allele``) in CSR form (-(h + 1) for a half share), and lies ``weight`` of
    the way from typed marker ``left`` to the next."""
    out = np.empty((haplotypes.shape[0], left.shape[0]))
    sites = sites_by_marker(left, panel.shape[0])
    map_chunks(lambda start, stop: _impute_chunk(
        panel, haplotypes, switch, mismatch, carrier_ptr, carriers, carrier_allele, *sites,
        weight, start, stop, out), haplotypes.shape[0], HAPLOTYPE_CHUNK)
    return out


@kernel()
def _backward(panel, observed, switch, mismatch, weighted, log_suffix):
    """Backward pass kept as weighted[m] = B_m / sum_h B_m(h), B_m(h) = P(x_m..M |
    copying h at m); log_suffix[m] = log sum_h B_m(h)."""
    n_markers, n_haps = panel.shape
    real = weighted.dtype.type
    emit = np.empty(n_haps, dtype=weighted.dtype)
    beta = np.ones(n_haps, dtype=weighted.dtype)   # sum_h' T(h, h') B_m+1(h') / sum B_m+1
    lanes = np.empty(LANES)
    total_log = 0.0
    for m in range(n_markers - 1, -1, -1):
        _emit(panel[m], observed[m], mismatch, emit)
        for h in range(n_haps):
            weighted[m, h] = emit[h] * beta[h]
        total = _lane_sum(weighted[m], weighted[m], False, lanes)
        inverse = real(1.0 / total)
        for h in range(n_haps):
            weighted[m, h] *= inverse
        total_log += math.log(total)
        log_suffix[m] = total_log
        if m > 0:
            stay = real(1.0 - switch[m - 1])
            land = real(switch[m - 1] / n_haps)
            for h in range(n_haps):
                beta[h] = stay * weighted[m, h] + land


@kernel(inline="always")
def _joined(alpha_row, weighted_row, switch, lanes):
    """log of sum_h alpha(h) sum_h' T(h, h') w(h'): a prefix's forward state entering a
    suffix whose next marker's weighted backward is w (both normalised)."""
    overlap = _lane_sum(alpha_row, weighted_row, True, lanes)
    return math.log((1.0 - switch) * overlap + switch / alpha_row.shape[0])


@kernel(inline="always")
def _flipped(panel_row, allele, alpha_before, weighted_after, switch_before, switch_after,
             mismatch, first, last, terms, lanes):
    """log of sum_h pi(h) e'(h) kappa(h): one marker's emission replaced by ``allele``,
    between the forward state before it and the weighted backward after it (``terms``:
    scratch of H doubles, summed in lanes)."""
    n_haps = panel_row.shape[0]
    stay_in, land_in = 1.0 - switch_before, switch_before / n_haps
    stay_out, land_out = 1.0 - switch_after, switch_after / n_haps
    same, other = 1.0 - mismatch, mismatch
    for h in range(n_haps):
        entry = 1.0 / n_haps if first else stay_in * alpha_before[h] + land_in
        leave = 1.0 if last else stay_out * weighted_after[h] + land_out
        terms[h] = entry * leave * (other if panel_row[h] != allele else same)
    return math.log(_lane_sum(terms, terms, False, lanes))


@kernel()
def _likelier_alleles(panel, observed, alpha, weighted, out, lanes):
    """out[m] = the allele copied with posterior > 1/2 (alpha x weighted backward) at
    every unobserved marker m."""
    for m in range(panel.shape[0]):
        if observed[m] >= 0:
            continue
        total = _lane_sum(alpha[m], weighted[m], True, lanes)
        ones = 0.0
        for h in range(panel.shape[1]):
            if panel[m, h] == 1:
                ones += alpha[m, h] * weighted[m, h]
        out[m] = 1 if ones > 0.5 * total else 0


@kernel()
def refine_phase(panel, alleles, heterozygous, switch, mismatch, max_sweeps, spacing,
                 fills, alpha, weighted):
    """Improve one sample's phase (alleles (2, M), in place; -1 where unobserved) under
    the haploid copying model by two moves: exchanging the haplotypes' suffixes after a
    marker (a switch) and exchanging the alleles of one heterozygous marker (a flip).
    Each sweep scores every move by the gain in log-likelihood of both haplotypes and
    makes the best ones that gain, at least ``spacing`` markers apart; sweeps repeat until
    no move gains.  ``fills`` (2, M) receives the likelier copied allele at every
    unobserved marker, from the last sweep's posterior (its haplotypes exchanged with the
    alleles).  ``alpha`` and ``weighted`` (2, M, H) are scratch for the forward and
    backward passes (kept by the caller: fresh pages of that size cost more than the
    passes).  Returns the number of moves made."""
    n_markers = panel.shape[0]
    prefix = np.empty((2, n_markers))
    suffix = np.empty((2, n_markers))
    hets = np.flatnonzero(heterozygous)
    gains = np.empty(2 * n_markers)
    terms = np.empty(panel.shape[1])
    lanes = np.empty(LANES)
    moves = 0
    for _ in range(max(max_sweeps, 1)):  # one pass at least, for the fills
        for copy in range(2):
            _forward(panel, alleles[copy], switch, mismatch, alpha[copy], prefix[copy])
            _backward(panel, alleles[copy], switch, mismatch, weighted[copy], suffix[copy])
            _likelier_alleles(panel, alleles[copy], alpha[copy], weighted[copy], fills[copy],
                              lanes)
        if hets.shape[0] < 2 or max_sweeps == 0:
            break
        current = prefix[0, n_markers - 1] + prefix[1, n_markers - 1]
        gains[:] = -np.inf
        for m in range(hets[0], hets[-1]):  # switch after m
            gains[2 * m] = (prefix[0, m] + suffix[1, m + 1]
                            + _joined(alpha[0, m], weighted[1, m + 1], switch[m], lanes)
                            + prefix[1, m] + suffix[0, m + 1]
                            + _joined(alpha[1, m], weighted[0, m + 1], switch[m], lanes)
                            - current)
        for m in hets:  # flip marker m
            first, last = m == 0, m == n_markers - 1
            total = 0.0
            for copy in range(2):
                before = 0.0 if first else prefix[copy, m - 1]
                after = 0.0 if last else suffix[copy, m + 1]
                total += before + after + _flipped(
                    panel[m], alleles[1 - copy, m], alpha[copy, max(m - 1, 0)],
                    weighted[copy, min(m + 1, n_markers - 1)],
                    switch[max(m - 1, 0)], switch[min(m, n_markers - 2)], mismatch, first,
                    last, terms, lanes)
            gains[2 * m + 1] = total - current
        order = np.argsort(-gains)
        taken = np.zeros(n_markers, dtype=np.bool_)
        made = 0
        for index in order:
            if not gains[index] > 1e-6:
                break
            m = index // 2
            lo, hi = max(m - spacing, 0), min(m + spacing + 1, n_markers)
            if taken[lo:hi].any():
                continue
            taken[m] = True
            made += 1
            end = n_markers if index % 2 == 0 else m + 1
            begin = m + 1 if index % 2 == 0 else m
            for k in range(begin, end):
                first_allele = alleles[0, k]
                alleles[0, k] = alleles[1, k]
                alleles[1, k] = first_allele
            for k in range(begin, end):
                first_allele = fills[0, k]
                fills[0, k] = fills[1, k]
                fills[1, k] = first_allele
        if made == 0:
            break
        moves += made
    return moves


@kernel()
def composite_panel(panel, bounds, offsets, candidates, out, donors):
    """One sample's composite haplotypes (Beagle's composite reference haplotypes):
    column s of ``out`` (M, L) copies donor donors[w, s] in window w, window w's donors
    being candidates[offsets[w]:offsets[w + 1]].  A donor listed in consecutive windows
    keeps its column, so a composite changes donor only where the lists do; columns
    beyond a window's list keep their last donor (or repeat the list at the start)."""
    width = out.shape[1]
    donor = np.full(width, -1, dtype=np.int64)
    column = np.full(panel.shape[1], -1, dtype=np.int64)  # a column copying each donor
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
        for m in range(bounds[w], bounds[w + 1]):
            for s in range(width):
                out[m, s] = panel[m, donor[s]]


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
def _reduced_statistics_chunk(panel, haplotypes, bounds, offsets, candidates, width,
                              switch, mismatch, start, stop):
    n_markers = panel.shape[0]
    composite, donors, posterior, jumps = _composite_buffers(n_markers, bounds, width)
    loglik = 0.0
    mismatches = 0.0
    observed = 0.0
    for k in range(start, stop):
        composite_panel(panel, bounds, offsets[k], candidates, composite, donors)
        for c in range(2):
            part, wrong, seen = haploid_posterior(composite, haplotypes[c, k], switch,
                                                  mismatch, posterior, jumps)
            loglik += part
            mismatches += wrong
            observed += seen
    return jumps, mismatches, observed, loglik


def reduced_statistics(panel, haplotypes, bounds, offsets, candidates, width, switch,
                       mismatch):
    """haploid_statistics of each sample's two haplotypes (2, N, M) over its composite
    panel of ``width`` columns (its candidates per window) instead of the whole panel."""
    return map_add(lambda start, stop: _reduced_statistics_chunk(
        panel, haplotypes, bounds, offsets, candidates, width, switch, mismatch, start,
        stop), haplotypes.shape[1], 1)


@kernel()
def _donor_sum(row, alleles, donors):
    """sum_s row[s] alleles[donors[s]]: the posterior mass on composites copying ALT."""
    total = 0.0
    for s in range(donors.shape[0]):
        if alleles[donors[s]] == 1:
            total += row[s]
    return total


@kernel()
def _column_lists(donors, first, following):
    """Chains of the columns copying each donor: first[h] is a column with donor h (-1
    for none), following[j] the next column with column j's donor (-1 at the end).
    Entries of ``first`` for other donors are left as they are (-1)."""
    for j in range(donors.shape[0] - 1, -1, -1):
        following[j] = first[donors[j]]
        first[donors[j]] = j


@kernel()
def _reduced_impute_chunk(panel, sites, haplotypes, bounds, offsets, candidates, width,
                          switch, mismatch, carrier_ptr, carriers, carrier_allele,
                          site_order, site_ptr, weight, start, stop, out):
    """As _impute_one over each sample's composite panel, in single precision: sites are
    summed during the backward pass, through chains from donor to column."""
    n_markers = panel.shape[0]
    composite = np.empty((n_markers, width), dtype=np.uint8)
    donors = np.empty((bounds.shape[0] - 1, width), dtype=np.int64)
    alpha = np.empty((n_markers, width), dtype=np.float32)
    log_prefix = np.empty(n_markers)
    beta = np.empty(width, dtype=np.float32)
    weighted = np.empty(width, dtype=np.float32)
    emit = np.empty(width, dtype=np.float32)
    rows = np.zeros((2, width), dtype=np.float32)   # the posterior at m and at m + 1
    lanes = np.empty(LANES)
    window = _window_of(bounds, n_markers)
    first = np.full(sites.shape[1], -1, dtype=np.int64)
    following = np.empty(width, dtype=np.int64)
    for k in range(start, stop):
        composite_panel(panel, bounds, offsets[k], candidates, composite, donors)
        for c in range(2):
            observed = haplotypes[c, k]
            _forward(composite, observed, switch, mismatch, alpha, log_prefix)
            beta[:] = 1.0
            listed = -1  # the window whose column chains are in ``first``
            for m in range(n_markers - 1, -1, -1):
                here, after = _posterior_row(composite, observed, switch, mismatch, alpha,
                                             m, beta, weighted, emit, rows, lanes)
                own = window[m]
                for p in range(site_ptr[m], site_ptr[m + 1]):
                    s = site_order[p]
                    w = weight[s]
                    if w > 0.0 and window[m + 1] != own:  # across windows: every column
                        out[c, k, s] = ((1.0 - w) * _donor_sum(here, sites[s], donors[own])
                                        + w * _donor_sum(after, sites[s], donors[own + 1]))
                        continue
                    if own != listed:
                        if listed >= 0:
                            for j in range(width):
                                first[donors[listed, j]] = -1
                        _column_lists(donors[own], first, following)
                        listed = own
                    share = 0.0
                    for q in range(carrier_ptr[s], carrier_ptr[s + 1]):
                        j = first[carriers[q]]
                        while j >= 0:
                            share += (1.0 - w) * here[j] + w * after[j]
                            j = following[j]
                    out[c, k, s] = share if carrier_allele[s] == 1 else 1.0 - share
            if listed >= 0:
                for j in range(width):
                    first[donors[listed, j]] = -1


def reduced_impute(panel, sites, haplotypes, bounds, offsets, candidates, width, switch,
                   mismatch, carrier_ptr, carriers, carrier_allele, left, weight):
    """(2, N, S) ALT probabilities of each sample's two haplotypes (2, N, M typed
    markers) over its composite panel of ``width`` columns, at the S sites of ``sites``
    (S, H): the posterior mass on the columns whose donor carries the site's listed
    allele (carriers in CSR form, see impute_haplotypes), interpolated as
    impute_haplotypes."""
    out = np.empty(haplotypes.shape[:2] + (left.shape[0],))
    by_marker = sites_by_marker(left, panel.shape[0])
    map_chunks(lambda start, stop: _reduced_impute_chunk(
        panel, sites, haplotypes, bounds, offsets, candidates, width, switch, mismatch,
        carrier_ptr, carriers, carrier_allele, *by_marker, weight, start, stop, out),
        haplotypes.shape[1], 1)
    return out


@kernel()
def _cohort_refine_chunk(panel, haplotypes, genotypes, bounds, offsets, candidates, switch,
                         mismatch, sweeps, width, precision, start, stop, out):
    n_markers = panel.shape[0]
    composite = np.empty((n_markers, width), dtype=np.uint8)
    donors = np.empty((bounds.shape[0] - 1, width), dtype=np.int64)
    alleles = np.empty((2, n_markers), dtype=np.int8)
    fills = np.empty((2, n_markers), dtype=np.int8)
    alpha = np.empty((2, n_markers, width), dtype=precision.dtype)
    weighted = np.empty((2, n_markers, width), dtype=precision.dtype)
    for k in range(start, stop):
        composite_panel(panel, bounds, offsets[k], candidates, composite, donors)
        for c in range(2):
            for m in range(n_markers):
                alleles[c, m] = haplotypes[c, k, m] if genotypes[k, m] >= 0 else -1
        refine_phase(composite, alleles, genotypes[k] == 1, switch, mismatch, sweeps, 50,
                     fills, alpha, weighted)
        for c in range(2):
            for m in range(n_markers):
                out[c, k, m] = alleles[c, m] if alleles[c, m] >= 0 else fills[c, m]


def refine_cohort(panel, haplotypes, genotypes, bounds, offsets, candidates, switch,
                  mismatch, sweeps, width, precision=np.float64):
    """(2, N, M) new phase of every sample of a cohort: refine_phase over the sample's
    composite panel of ``width`` columns (its candidates per window), each missing
    genotype's alleles set to the likelier copied allele of the haploid posterior.  The
    forward-backward passes run in ``precision`` (float32: twice the lanes)."""
    out = np.empty_like(haplotypes)
    like = np.empty(0, dtype=precision)
    map_chunks(lambda start, stop: _cohort_refine_chunk(
        panel, haplotypes, genotypes, bounds, offsets, candidates, switch, mismatch, sweeps,
        width, like, start, stop, out), haplotypes.shape[1], REFINE_CHUNK)
    return out


@kernel()
def _pair_emission(genotype, mismatch, table):
    """table[s] = P(genotype | the two copied alleles sum to s), in table's precision."""
    real = table.dtype.type
    keep = 1.0 - mismatch
    both, one, two = real(keep * keep), real(2.0 * keep * mismatch), real(mismatch * mismatch)
    single = real(mismatch * keep)
    if genotype < 0:
        table[:] = real(1.0)
    elif genotype == 0:
        table[0], table[1], table[2] = both, single, two
    elif genotype == 1:
        table[0], table[1], table[2] = one, real(keep * keep + mismatch * mismatch), one
    else:
        table[0], table[1], table[2] = two, single, both


@kernel(inline="always")
def _column_maxima(delta, size, column_max, column_arg):
    """Maximum of each column of delta[:size, :size] and its first row (for the
    symmetric pair scores, also each row's)."""
    for j in range(size):
        column_max[j], column_arg[j] = delta[0, j], 0
    for i in range(1, size):
        row = delta[i]
        for j in range(size):
            greater = row[j] > column_max[j]
            column_max[j] = row[j] if greater else column_max[j]
            column_arg[j] = np.int32(i) if greater else column_arg[j]


@kernel(fastmath={"nsz", "contract"})
def diploid_phase(panel, genotypes, bounds, offsets, candidates, switch, mismatch, out,
                  precision):
    """Phase one sample: the Viterbi pair path of the diploid copying model, genotypes
    (M,) of -1/0/1/2 over the panel (M, H), where window w (markers bounds[w] to
    bounds[w + 1]) copies from its own candidate haplotypes candidates[offsets[w]:
    offsets[w + 1]]; the two phased alleles at each marker into ``out`` (2, M) (a missing
    genotype takes the copied alleles).  Within a window a copy stays with probability
    1 - rho + rho / L or lands on another candidate with rho / L; entering a window, a
    copy whose haplotype is not among the new candidates must jump.  The pair scores stay
    symmetric in (i, j), so a row's maximum is also its column's.  The pair scores, scaled
    by the best at each marker, are held in the dtype of ``precision`` (float32: twice the
    lanes).  Returns the path's log probability."""
    n_markers = panel.shape[0]
    real = precision.dtype.type
    n_windows = bounds.shape[0] - 1
    widest = 0
    for w in range(n_windows):
        widest = max(widest, offsets[w + 1] - offsets[w])
    delta = np.empty((widest, widest), dtype=precision.dtype)
    fresh = np.empty((widest, widest), dtype=precision.dtype)
    code = np.empty((n_markers, widest, widest), dtype=np.int8)  # row 0 is never read
    row_arg = np.zeros((n_markers, widest), dtype=np.int64)
    top_arg = np.zeros((n_markers, 2), dtype=np.int64)
    row_max = np.empty(widest, dtype=precision.dtype)   # of delta, and where
    column_arg = np.empty(widest, dtype=np.int32)
    next_max = np.empty(widest, dtype=precision.dtype)  # of the delta being built
    next_arg = np.empty(widest, dtype=np.int32)
    stepped = False
    link = np.full((n_windows, widest), -1, dtype=np.int64)  # index in the window before
    alleles = np.empty(widest, dtype=np.int64)
    emission = np.empty((2, widest), dtype=precision.dtype)
    table = np.empty(3, dtype=precision.dtype)
    for w in range(1, n_windows):
        for a in range(offsets[w + 1] - offsets[w]):
            for b in range(offsets[w] - offsets[w - 1]):
                if candidates[offsets[w - 1] + b] == candidates[offsets[w] + a]:
                    link[w, a] = b
    log_prob = 0.0
    window, size = 0, offsets[1] - offsets[0]
    _pair_emission(genotypes[0], mismatch, table)
    for a in range(size):
        alleles[a] = panel[0, candidates[offsets[0] + a]]
    for i in range(size):
        for j in range(size):
            delta[i, j] = table[alleles[i] + alleles[j]]
    for m in range(1, n_markers + 1):
        if not stepped:   # after a step within a window the maxima are already known
            _column_maxima(delta, size, row_max, column_arg)
        top = real(-1.0)
        for i in range(size):
            row_arg[m - 1, i] = column_arg[i]
            if row_max[i] > top:
                top = row_max[i]
                top_arg[m - 1, 0], top_arg[m - 1, 1] = i, column_arg[i]
        log_prob += math.log(float(top))
        if m == n_markers:
            break
        entering = m == bounds[window + 1]
        if entering:
            window += 1
        size = offsets[window + 1] - offsets[window]
        base = offsets[window]
        land = switch[m - 1] / size
        keep = 1.0 - switch[m - 1] + land
        # scores relative to the best pair so far (whose value is top): a double jump
        # starts from it
        stay, single = real(keep * keep / top), real(keep * land / top)
        double = real(land * land)
        _pair_emission(genotypes[m], mismatch, table)
        for a in range(size):
            alleles[a] = panel[m, candidates[base + a]]
            emission[0, a] = table[alleles[a]]
            emission[1, a] = table[alleles[a] + 1]
        stepped = not entering
        if stepped:
            next_max[:size] = real(-1.0)
            for i in range(size):
                fixed = single * row_max[i]  # copy 2 jumps: the best of row i
                fixed_code = 1
                if double > fixed:
                    fixed, fixed_code = double, 3
                row = delta[i]
                codes = code[m, i]
                emit = emission[alleles[i]]
                for j in range(size):
                    best = stay * row[j]
                    which = 0
                    moved = single * row_max[j]  # copy 1 jumps: the best of column j
                    if moved > best:
                        best, which = moved, 2
                    if fixed > best:
                        best, which = fixed, fixed_code
                    value = best * emit[j]
                    row[j] = value
                    codes[j] = which
                    greater = value > next_max[j]   # the new column maxima, in passing
                    next_max[j] = value if greater else next_max[j]
                    next_arg[j] = np.int32(i) if greater else next_arg[j]
            row_max[:size] = next_max[:size]
            column_arg[:size] = next_arg[:size]
            continue
        for i in range(size):
            before_i = link[window, i]
            for j in range(size):
                before_j = link[window, j]
                best, which = double, 3
                if before_i >= 0 and single * row_max[before_i] > best:
                    best, which = single * row_max[before_i], 1
                if before_j >= 0 and single * row_max[before_j] > best:
                    best, which = single * row_max[before_j], 2
                if before_i >= 0 and before_j >= 0 and stay * delta[before_i, before_j] > best:
                    best, which = stay * delta[before_i, before_j], 0
                fresh[i, j] = best * emission[alleles[i], j]
                code[m, i, j] = which
        for i in range(size):
            for j in range(size):
                delta[i, j] = fresh[i, j]
    i, j = top_arg[n_markers - 1, 0], top_arg[n_markers - 1, 1]
    for m in range(n_markers - 1, -1, -1):
        base = offsets[window]
        first, second = panel[m, candidates[base + i]], panel[m, candidates[base + j]]
        genotype = genotypes[m]
        if genotype == 0 or genotype == 2:
            first = second = genotype // 2
        elif genotype == 1 and first == second:
            second = 1 - first
        out[0, m], out[1, m] = first, second
        if m == 0:
            break
        which = code[m, i, j]
        if m == bounds[window]:  # the previous marker lies in the window before
            i_before, j_before = link[window, i], link[window, j]
            window -= 1
            if which == 0:
                i, j = i_before, j_before
            elif which == 1:
                i, j = i_before, row_arg[m - 1, i_before]
            elif which == 2:
                i, j = row_arg[m - 1, j_before], j_before
            else:
                i, j = top_arg[m - 1, 0], top_arg[m - 1, 1]
        elif which == 1:
            j = row_arg[m - 1, i]
        elif which == 2:
            i = row_arg[m - 1, j]
        elif which == 3:
            i, j = top_arg[m - 1, 0], top_arg[m - 1, 1]
    return log_prob


@kernel()
def _phase_chunk(panel, genotypes, bounds, offsets, candidates, switch, mismatch, precision,
                 start, stop, out):
    phased = np.empty((2, panel.shape[0]), dtype=np.int8)
    for k in range(start, stop):
        diploid_phase(panel, genotypes[k], bounds, offsets[k], candidates, switch, mismatch,
                      phased, precision)
        out[0, k] = phased[0]
        out[1, k] = phased[1]


def phase_samples(panel, genotypes, bounds, offsets, candidates, switch, mismatch,
                  precision=np.float64):
    """(2, N, M) phased alleles of N samples' genotypes (N, M), each by the diploid
    Viterbi path over its own candidates per window: sample k's window w copies from
    candidates[offsets[k, w]:offsets[k, w + 1]]; pair scores in ``precision``."""
    out = np.empty((2,) + genotypes.shape, dtype=np.int8)
    like = np.empty(0, dtype=precision)
    map_chunks(lambda start, stop: _phase_chunk(
        panel, genotypes, bounds, offsets, candidates, switch, mismatch, like, start, stop,
        out), genotypes.shape[0], 1)
    return out


# ------------------------------------------------------------ haplotype clusters (cohort)

@kernel()
def _genotype_emission(genotype, theta_row, out):
    """out[k1, k2] = P(genotype | clusters k1, k2) with allele-1 rates theta_row."""
    n_clusters = theta_row.shape[0]
    if genotype < 0:
        out[:, :] = 1.0
        return
    for a in range(n_clusters):
        p = theta_row[a]
        row = out[a]
        if genotype == 0:
            for b in range(n_clusters):
                row[b] = (1.0 - p) * (1.0 - theta_row[b])
        elif genotype == 1:
            for b in range(n_clusters):
                q = theta_row[b]
                row[b] = p * (1.0 - q) + q * (1.0 - p)
        else:
            for b in range(n_clusters):
                row[b] = p * theta_row[b]


@kernel(fastmath=REDUCE_FLAGS)
def _cluster_counts(pair, row_sums, genotype, theta_row, allele_one, copies):
    """Add one observed marker's expected copies per cluster and allele-1 emissions,
    from the cluster-pair posterior ``pair`` (K, K) and its row sums."""
    n_clusters = theta_row.shape[0]
    for a in range(n_clusters):
        copies[a] += row_sums[a]
        for b in range(n_clusters):
            copies[b] += pair[a, b]
    if genotype == 2:
        for a in range(n_clusters):
            allele_one[a] += row_sums[a]
            for b in range(n_clusters):
                allele_one[b] += pair[a, b]
    elif genotype == 1:
        for a in range(n_clusters):
            p = theta_row[a]
            for b in range(n_clusters):
                q = theta_row[b]
                first = p * (1.0 - q) / (p * (1.0 - q) + q * (1.0 - p))
                allele_one[a] += pair[a, b] * first
                allele_one[b] += pair[a, b] * (1.0 - first)


@kernel(fastmath=REDUCE_FLAGS)
def cluster_posterior(genotypes, theta, jump_to, stay, posterior, emit, allele_one, copies,
                      jumps):
    """Forward-backward of one sample's genotypes (M,) of -1/0/1/2 under the diploid
    haplotype-cluster model (fastPHASE): each copy stays in its cluster between markers m
    and m + 1 with probability stay[m], else jumps to cluster k with jump_to[m + 1, k]
    (jump_to[0] starts the chain); cluster k emits allele 1 at marker m with
    theta[m, k].  Fills posterior (M, K, K) with P(clusters k1, k2 | genotypes) and, at
    observed markers, adds the expected copies from each cluster (``copies`` (M, K)) and
    their expected allele-1 emissions (``allele_one``); adds the expected jumps into each
    cluster (``jumps`` (M, K), row 0 the starts).  ``emit`` is (M, K, K) scratch.
    Transitions factorise per copy, so every step costs O(K^2) through the pair table's
    row and column sums; each marker makes one fused pass forward and three backward.
    Returns the log-likelihood."""
    n_markers, n_clusters = theta.shape
    rows = np.zeros((n_markers, n_clusters))   # row / column sums of the normalised forward
    cols = np.zeros((n_markers, n_clusters))
    inverse = np.empty(n_markers)              # 1 / sum of each marker's forward table
    loglik = 0.0
    for m in range(n_markers):
        _genotype_emission(genotypes[m], theta[m], emit[m])
        total = 0.0
        here_cols = cols[m]
        if m == 0:
            start = jump_to[0]
            for a in range(n_clusters):
                row_total = 0.0
                for b in range(n_clusters):
                    value = start[a] * start[b] * emit[0, a, b]
                    posterior[0, a, b] = value
                    row_total += value
                    here_cols[b] += value
                rows[0, a] = row_total
                total += row_total
        else:
            t = stay[m - 1]
            both, one, none = t * t * inverse[m - 1], t * (1.0 - t), (1.0 - t) * (1.0 - t)
            land = jump_to[m]
            before_rows, before_cols = rows[m - 1], cols[m - 1]
            for a in range(n_clusters):
                row_part = one * before_rows[a]
                land_a = land[a]
                row_total = 0.0
                for b in range(n_clusters):
                    value = (both * posterior[m - 1, a, b] + row_part * land[b]
                             + land_a * (one * before_cols[b] + none * land[b])) * emit[m, a, b]
                    posterior[m, a, b] = value
                    row_total += value
                    here_cols[b] += value
                rows[m, a] = row_total
                total += row_total
        inverse[m] = 1.0 / total
        loglik += math.log(total)
        for a in range(n_clusters):  # row and column sums of the normalised table
            rows[m, a] *= inverse[m]
            here_cols[a] *= inverse[m]
    # backward: beta(m) = sum T T emit(m + 1) beta(m + 1), kept relative to
    # sum_ab alpha_m(a, b) beta_m(a, b) = 1 so that posterior = alpha beta
    beta = np.ones((n_clusters, n_clusters))
    weighted = np.empty((n_clusters, n_clusters))
    w_rows = np.empty(n_clusters)
    w_cols = np.empty(n_clusters)
    carried_col = np.empty(n_clusters)
    carried_row = np.empty(n_clusters)
    into = np.empty(n_clusters)
    previous_scale = 1.0
    for m in range(n_markers - 1, -1, -1):
        scale = 1.0
        if m < n_markers - 1:
            t = stay[m]
            land = jump_to[m + 1]
            for a in range(n_clusters):
                w_cols[a] = 0.0
            flow = 0.0
            rescale = 1.0 / previous_scale  # beta(m + 1) relative to its own marker
            for a in range(n_clusters):
                row_total = 0.0
                for b in range(n_clusters):
                    value = emit[m + 1, a, b] * beta[a, b] * rescale
                    weighted[a, b] = value
                    row_total += land[b] * value
                    w_cols[b] += land[a] * value
                w_rows[a] = row_total
                flow += land[a] * row_total
            both, one, none = t * t, t * (1.0 - t), (1.0 - t) * (1.0 - t)
            scale = 0.0
            for a in range(n_clusters):
                row_part = one * w_rows[a] + none * flow
                for b in range(n_clusters):
                    value = both * weighted[a, b] + row_part + one * w_cols[b]
                    beta[a, b] = value
                    scale += posterior[m, a, b] * value
            scale *= inverse[m]
            # expected jumps into cluster k at m + 1, by copy 1 (the other copy carried
            # from the forward's column sums) and by copy 2 (from its row sums)
            for other in range(n_clusters):
                carried_col[other] = t * cols[m, other] + (1.0 - t) * land[other]
                carried_row[other] = t * rows[m, other] + (1.0 - t) * land[other]
                into[other] = 0.0
            for k in range(n_clusters):
                total = 0.0
                for other in range(n_clusters):
                    total += carried_col[other] * weighted[k, other]
                into[k] += total
            for other in range(n_clusters):
                carried = carried_row[other]
                for k in range(n_clusters):
                    into[k] += carried * weighted[other, k]
            for k in range(n_clusters):
                jumps[m + 1, k] += (1.0 - t) * land[k] * into[k] / scale
        factor = inverse[m] / scale
        genotype = genotypes[m]
        for a in range(n_clusters):
            row_total = 0.0
            for b in range(n_clusters):
                weight = posterior[m, a, b] * beta[a, b] * factor
                posterior[m, a, b] = weight
                row_total += weight
            rows[m, a] = row_total  # now the posterior's row sums
        if m == 0:
            for a in range(n_clusters):
                for b in range(n_clusters):
                    jumps[0, b] += posterior[0, a, b]
                jumps[0, a] += rows[0, a]
        if genotype >= 0:
            _cluster_counts(posterior[m], rows[m], genotype, theta[m], allele_one[m],
                            copies[m])
        previous_scale = scale
    return loglik


@kernel()
def _cluster_chunk(genotypes, theta, jump_to, stay, start, stop):
    n_markers, n_clusters = theta.shape
    posterior = np.empty((n_markers, n_clusters, n_clusters))
    emit = np.empty((n_markers, n_clusters, n_clusters))
    allele_one = np.zeros((n_markers, n_clusters))
    copies = np.zeros((n_markers, n_clusters))
    jumps = np.zeros((n_markers, n_clusters))
    loglik = 0.0
    for k in range(start, stop):
        loglik += cluster_posterior(genotypes[k], theta, jump_to, stay, posterior, emit,
                                    allele_one, copies, jumps)
    return allele_one, copies, jumps, loglik


def cluster_statistics(genotypes, theta, jump_to, stay):
    """E-step of the haplotype-cluster model over samples' genotypes (N, M): expected
    allele-1 emissions and copies per marker and cluster, expected jumps into each
    cluster (row 0: starts), log-likelihood; summed in chunk order."""
    return map_add(lambda start, stop: _cluster_chunk(genotypes, theta, jump_to, stay, start,
                                                      stop), genotypes.shape[0],
                   SAMPLE_CHUNK)


@kernel()
def _cluster_dosage_chunk(genotypes, theta, jump_to, stay, start, stop, out):
    n_markers, n_clusters = theta.shape
    posterior = np.empty((n_markers, n_clusters, n_clusters))
    emit = np.empty((n_markers, n_clusters, n_clusters))
    scratch = np.zeros((n_markers, n_clusters))
    jumps = np.zeros((n_markers, n_clusters))
    table = np.empty((n_clusters, n_clusters))
    for k in range(start, stop):
        cluster_posterior(genotypes[k], theta, jump_to, stay, posterior, emit, scratch,
                          scratch, jumps)
        for m in range(n_markers):
            for g in range(3):
                _genotype_emission(g, theta[m], table)
                total = 0.0
                for a in range(n_clusters):
                    for b in range(n_clusters):
                        total += posterior[m, a, b] * table[a, b]
                out[k, m, g] = total


def cluster_genotype_probs(genotypes, theta, jump_to, stay):
    """(N, M, 3) posterior genotype probabilities of every sample at every marker under
    the haplotype-cluster model (observed markers included)."""
    out = np.empty(genotypes.shape + (3,))
    map_chunks(lambda start, stop: _cluster_dosage_chunk(
        genotypes, theta, jump_to, stay, start, stop, out), genotypes.shape[0],
        HAPLOTYPE_CHUNK)
    return out


# ------------------------------------------------------ the cohort as its own panel

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
    offsets = np.zeros((n_samples, n_words + 1), dtype=np.int64)
    offsets[:, 1:] = np.cumsum(counts, axis=1)
    offsets += np.concatenate([[0], np.cumsum(counts.sum(axis=1))[:-1]])[:, None]
    return offsets, picks[picks >= 0]


@kernel()
def _exclude(panel, own, columns, value):
    """Set columns ``columns`` of ``own`` to ``value``, or, with value < 0, back to the
    panel's alleles."""
    for c in range(columns.shape[0]):
        for m in range(panel.shape[0]):
            own[m, columns[c]] = panel[m, columns[c]] if value < 0 else value


@kernel()
def _leave_out_chunk(panel, haplotypes, owners, switch, mismatch, carrier_ptr, carriers,
                     carrier_allele, site_order, site_ptr, weight, needed, start, stop, out):
    own = panel.copy()
    alpha = np.empty(panel.shape, dtype=np.float32)
    for k in range(start, stop):
        _exclude(panel, own, owners[k], 2)  # the sample's own haplotypes may not be copied
        for c in range(2):
            _impute_one(own, haplotypes[c, k], switch, mismatch, carrier_ptr, carriers,
                        carrier_allele, site_order, site_ptr, weight, needed[k], alpha,
                        out[c, k])
        _exclude(panel, own, owners[k], -1)


def impute_leave_out(panel, haplotypes, owners, switch, mismatch, carrier_ptr, carriers,
                     carrier_allele, left, weight, needed=None):
    """(2, N, S) alt-allele probabilities of each sample's two haplotypes (2, N, M) copying
    the panel's haplotypes other than its own (``owners`` (N, 2) columns), as
    impute_haplotypes; only where ``needed`` (N, S) when given (NaN elsewhere: the carrier
    sums are a fifth of the pass)."""
    out = np.full(haplotypes.shape[:2] + (left.shape[0],), np.nan)
    if needed is None:
        needed = np.ones((haplotypes.shape[1], left.shape[0]), dtype=bool)
    sites = sites_by_marker(left, panel.shape[0])
    map_chunks(lambda start, stop: _leave_out_chunk(
        panel, haplotypes, owners, switch, mismatch, carrier_ptr, carriers, carrier_allele,
        *sites, weight, needed, start, stop, out), haplotypes.shape[1], HAPLOTYPE_CHUNK)
    return out
