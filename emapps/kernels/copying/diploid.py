"""The diploid copying model: a genotype copies two haplotypes from a short list of L
candidates per window; its Viterbi path, in O(L^2) per marker, phases the genotype."""

import math

import numpy as np

from .._jit import kernel
from ..parallel import map_chunks


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
