"""The haploid copying model (Li & Stephens) over a reference panel: forward-backward in
scaled space and its E-step statistics, imputation of untyped sites, and the phase moves
that raise a sample's likelihood.

A haplotype copies one of H panel haplotypes, switching between markers m and m + 1 with
probability rho_m to a haplotype drawn uniformly (P(h' | h) = (1 - rho_m) [h' = h] +
rho_m / H) and matching the copied allele except with probability eps.  The
forward-backward runs in O(H) per marker; its E-step statistics are the expected number
of switches per interval and of mismatches.  Panels are site-major: ``panel[m, h]`` is 0/1.

Every pass uses strict floating point, with sums over haplotypes in LANES fixed lanes of
doubles: with reassociation, one kernel compiled in two contexts (fresh, or loaded from
numba's cache after other kernels) was seen to sum in different orders.  Phase moves
chosen on near-equal scores then differed between runs (tested), and EM statistics that
differed in the last bits led round 2 of panel mode to another phasing.
"""

import math

import numpy as np

from .._jit import kernel
from ..parallel import map_add, map_chunks

#: haplotypes per chunk of the threaded passes (fixed, so results do not depend on threads)
HAPLOTYPE_CHUNK = 8


@kernel(inline="always")
def _term(first, second, h, product):
    return first[h] * second[h] if product else first[h]


#: lanes of the fixed-order sums over haplotypes
LANES = 64


@kernel(inline="always")
def _combine(lanes, rest):
    """The pairwise combination of _lane_sum's lanes, plus the tail ``rest``."""
    width = LANES
    while width > 1:
        width //= 2
        for lane in range(width):
            lanes[lane] += lanes[lane + width]
    return lanes[0] + rest


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
    return _combine(lanes, rest)


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


@kernel(inline="always")
def _emission(allele, observed, same, other, never):
    return never if allele == 2 else (same if allele == observed or observed < 0 else other)


@kernel()
def forward(panel, observed, switch, mismatch, alpha, log_prefix):
    """Scaled forward pass: alpha[m] = P(copying h at m | x_1..m); log_prefix[m] =
    log P(x_1..m).  In alpha's precision (float64, or float32 for twice the lanes).  The
    emission, the step and the sum run in one pass; the sum adds in _lane_sum's order."""
    n_markers, n_haps = panel.shape
    real = alpha.dtype.type
    lanes = np.empty(2 * LANES)
    whole = n_haps - n_haps % LANES
    never = real(0.0)
    total_log = 0.0
    for m in range(n_markers):
        seen = observed[m]
        same = real(1.0 if seen < 0 else 1.0 - mismatch)
        other = real(1.0 if seen < 0 else mismatch)
        row = panel[m]
        here = alpha[m]
        for lane in range(LANES):
            lanes[lane] = 0.0
        rest = 0.0
        if m == 0:
            start_weight = real(1.0 / n_haps)
            for h in range(n_haps):
                value = _emission(row[h], seen, same, other, never) * start_weight
                here[h] = value
                if h < whole:
                    lanes[h % LANES] += value
                else:
                    rest += value
        else:
            stay = real(1.0 - switch[m - 1])
            land = real(switch[m - 1] / n_haps)
            before = alpha[m - 1]
            for start in range(0, whole, LANES):
                for lane in range(LANES):
                    h = start + lane
                    value = _emission(row[h], seen, same, other, never) * (
                        stay * before[h] + land)
                    here[h] = value
                    lanes[lane] += value
            for h in range(whole, n_haps):
                value = _emission(row[h], seen, same, other, never) * (stay * before[h]
                                                                       + land)
                here[h] = value
                rest += value
        total = _combine(lanes, rest)
        inverse = real(1.0 / total)
        for h in range(n_haps):
            here[h] *= inverse
        total_log += math.log(total)
        log_prefix[m] = total_log


@kernel(inline="always")
def _backward_step(panel_row, observed, switch, mismatch, alpha_row, beta, weighted, lanes):
    """beta <- beta_m from beta_m+1 and marker m + 1's ``panel_row`` and ``observed``:
    beta_m(h) = [(1 - rho) e b(h) + rho / H sum e b] / c_m+1, where c_m+1 = sum_h
    alpha_m(h) (1 - rho) e b(h) + rho / H sum e b, in beta's precision.  Returns the
    expected switch in the interval, (rho / H sum e b) / c_m+1.  The emission, the
    product and both sums run in one pass, each sum in _lane_sum's order (``lanes``:
    2 LANES doubles of scratch)."""
    n_haps = panel_row.shape[0]
    real = beta.dtype.type
    same = real(1.0 if observed < 0 else 1.0 - mismatch)
    other = real(1.0 if observed < 0 else mismatch)
    never = real(0.0)
    whole = n_haps - n_haps % LANES
    overlap_lanes = lanes[LANES:]
    for lane in range(LANES):
        lanes[lane] = 0.0
        overlap_lanes[lane] = 0.0
    for start in range(0, whole, LANES):
        for lane in range(LANES):
            h = start + lane
            value = _emission(panel_row[h], observed, same, other, never) * beta[h]
            weighted[h] = value
            lanes[lane] += value
            overlap_lanes[lane] += alpha_row[h] * value
    rest = overlap_rest = 0.0
    for h in range(whole, n_haps):
        value = _emission(panel_row[h], observed, same, other, never) * beta[h]
        weighted[h] = value
        rest += value
        overlap_rest += alpha_row[h] * value
    flow = _combine(lanes[:LANES], rest)
    overlap = _combine(overlap_lanes, overlap_rest)
    stay = real(1.0 - switch)
    land = real(switch / n_haps)
    scale = stay * overlap + land * flow
    keep = real(stay / scale)
    enter = land * flow / scale
    entering = real(enter)
    for h in range(n_haps):
        beta[h] = weighted[h] * keep + entering
    return enter


@kernel(inline="always")
def posterior_row(panel, observed, switch, mismatch, alpha, m, beta, weighted, rows, lanes):
    """The backward pass's step to marker m (M - 1 down to 0; ``beta`` starts at ones):
    rows[m % 2] <- the posterior at m, alpha_m beta_m; rows[(m + 1) % 2] holds the one at
    m + 1.  Returns (posterior at m, posterior at m + 1)."""
    if m < panel.shape[0] - 1:
        _backward_step(panel[m + 1], observed[m + 1], switch[m], mismatch, alpha[m], beta,
                       weighted, lanes)
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
    log_prefix = np.empty(n_markers)
    forward(panel, observed, switch, mismatch, posterior, log_prefix)
    loglik = log_prefix[n_markers - 1]
    beta = np.ones(n_haps)
    weighted = np.empty(n_haps)
    differs = np.empty(n_haps)
    lanes = np.empty(2 * LANES)
    mismatches = 0.0
    observed_count = 0.0
    for m in range(n_markers - 1, -1, -1):
        if m < n_markers - 1:
            jumps[m] += _backward_step(panel[m + 1], observed[m + 1], switch[m], mismatch,
                                       posterior[m], beta, weighted, lanes)
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
    forward(panel, observed, switch, mismatch, alpha, np.empty(n_markers))
    beta = np.ones(n_haps, dtype=alpha.dtype)
    weighted = np.empty(n_haps, dtype=alpha.dtype)
    rows = np.zeros((2, n_haps), dtype=alpha.dtype)   # the posterior at m and at m + 1
    lanes = np.empty(2 * LANES)
    for m in range(n_markers - 1, -1, -1):
        here, after = posterior_row(panel, observed, switch, mismatch, alpha, m, beta,
                                     weighted, rows, lanes)
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
    lanes = np.empty(2 * LANES)
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
    lanes = np.empty(2 * LANES)
    moves = 0
    for _ in range(max(max_sweeps, 1)):  # one pass at least, for the fills
        for copy in range(2):
            forward(panel, alleles[copy], switch, mismatch, alpha[copy], prefix[copy])
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
