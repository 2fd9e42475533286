"""Mixtures over ragged sets of haplotype pairs: enumeration and the fused E-step.

A diploid subject i is explained by the unordered haplotype pairs {a, b} compatible
with its genotype, stored as ``offsets[i]:offsets[i+1]`` into ``first``/``second``:
P(G_i) = sum_{a,b} c_ab f_a f_b with c_ab = 2 (a != b) or 1, so
log L_i = logsumexp_j (log f_a + log f_b + log c_ab), and the E-step adds each pair's
posterior to both of its haplotypes' expected counts (Excoffier & Slatkin 1995).

Genotypes are (n, L, 2) allele codes with -1 for a missing allele; ``phased[i, l]``
marks a known orientation (allele column 0 on the first haplotype).  A subject whose
pairs are *oriented* stores them as (first strand, second strand).
"""

import math

import numpy as np

from ._jit import REDUCE_FLAGS, kernel
from .logspace import softmax_inplace
from .parallel import map_add

LOG2 = math.log(2.0)
#: subjects per chunk of the threaded E-step (fixed, so results do not depend on threads)
SUBJECT_CHUNK = 4096


@kernel()
def _pair_log_prior_of(a, b, freq):
    """log(c_ab f_a f_b) from frequencies (-inf for a zero one)."""
    if freq[a] == 0.0 or freq[b] == 0.0:
        return -np.inf
    value = math.log(freq[a]) + math.log(freq[b])
    return value + LOG2 if a != b else value


@kernel(fastmath=REDUCE_FLAGS)
def _pair_weights_linear(first, second, freq, lo, n_pairs, out):
    """out[:n] <- c_ab f_a f_b of the subject's pairs; returns their sum."""
    total = 0.0
    for j in range(n_pairs):
        a = first[lo + j]
        b = second[lo + j]
        value = freq[a] * freq[b]
        if a != b:
            value += value
        out[j] = value
        total += value
    return total


#: below this a subject's likelihood sum_ab c f_a f_b is recomputed in log space, where
#: products of tiny frequencies cannot underflow
LINEAR_FLOOR = 1e-200


@kernel(fastmath=REDUCE_FLAGS)
def pair_mixture_chunk(offsets, first, second, freq, weights, start, stop):
    """(expected haplotype counts sum_i w_i sum_j post_ij [a_j, b_j], sum_i w_i log L_i)
    over subjects [start, stop).  L_i is summed in linear space, in log space when it
    falls below LINEAR_FLOOR."""
    counts = np.zeros(freq.shape[0])
    loglik = 0.0
    width = 1
    for i in range(start, stop):
        width = max(width, offsets[i + 1] - offsets[i])
    scratch = np.empty(width)
    for i in range(start, stop):
        lo = offsets[i]
        n_pairs = offsets[i + 1] - lo
        total = _pair_weights_linear(first, second, freq, lo, n_pairs, scratch)
        if total >= LINEAR_FLOOR:
            log_total = math.log(total)
            scale = weights[i] / total
        else:
            for j in range(n_pairs):
                scratch[j] = _pair_log_prior_of(first[lo + j], second[lo + j], freq)
            log_total = softmax_inplace(scratch, n_pairs)
            scale = weights[i]
        if log_total == -np.inf:
            if weights[i] > 0:
                loglik = -np.inf
            continue
        for j in range(n_pairs):
            share = scratch[j] * scale
            counts[first[lo + j]] += share
            counts[second[lo + j]] += share
        loglik += weights[i] * log_total
    return counts, loglik


def pair_mixture_pass(offsets, first, second, freq, weights):
    """(expected haplotype counts, weighted log-likelihood) over all subjects."""
    if offsets.shape[0] - 1 <= SUBJECT_CHUNK:
        return pair_mixture_chunk(offsets, first, second, freq, weights, 0,
                                  offsets.shape[0] - 1)
    return map_add(lambda start, stop: pair_mixture_chunk(
        offsets, first, second, freq, weights, start, stop),
        offsets.shape[0] - 1, SUBJECT_CHUNK)


@kernel()
def pair_posteriors(offsets, first, second, freq):
    """(posterior of every pair given its subject's genotype, log L_i of every subject),
    in log space."""
    n_subjects = offsets.shape[0] - 1
    posterior = np.zeros(first.shape[0])
    subject_loglik = np.empty(n_subjects)
    for i in range(n_subjects):
        lo, hi = offsets[i], offsets[i + 1]
        for j in range(lo, hi):
            posterior[j] = _pair_log_prior_of(first[j], second[j], freq)
        subject_loglik[i] = softmax_inplace(posterior[lo:hi], hi - lo)
    return posterior, subject_loglik


@kernel()
def _ordered_options(x, y, n_alleles, out):
    """Ordered allele pairs (u, v) a genotype {x, y} (-1 missing) allows; returns count."""
    count = 0
    if x >= 0 and y >= 0:
        out[0, 0], out[0, 1] = x, y
        count = 1
        if x != y:
            out[1, 0], out[1, 1] = y, x
            count = 2
    elif x >= 0 or y >= 0:
        known = max(x, y)
        for w in range(n_alleles):
            out[count, 0], out[count, 1] = known, w
            count += 1
            if w != known:
                out[count, 0], out[count, 1] = w, known
                count += 1
    else:
        for u in range(n_alleles):
            for v in range(n_alleles):
                out[count, 0], out[count, 1] = u, v
                count += 1
    return count


@kernel()
def _extend_subject(i, offsets, first, second, oriented, genotype, phased, n_alleles,
                    options, out_first, out_second, cursor, write):
    """Children of subject i's pairs at one new locus (written when ``write``); returns
    the new cursor.  Child keys are parent * n_alleles + allele."""
    x, y = genotype[i, 0], genotype[i, 1]
    phase_known = phased[i] and x >= 0 and y >= 0 and x != y
    n_options = 0 if phase_known else _ordered_options(x, y, n_alleles, options)
    for j in range(offsets[i], offsets[i + 1]):
        a, b = first[j], second[j]
        if phase_known:
            children = 1 if (oriented[i] or a == b) else 2
            if write:
                out_first[cursor] = a * n_alleles + x
                out_second[cursor] = b * n_alleles + y
                if children == 2:
                    out_first[cursor + 1] = b * n_alleles + x
                    out_second[cursor + 1] = a * n_alleles + y
            cursor += children
            continue
        for o in range(n_options):
            u, v = options[o, 0], options[o, 1]
            if a == b and u > v:
                continue  # {a+u, a+v} is the same unordered pair as {a+v, a+u}
            if write:
                out_first[cursor] = a * n_alleles + u
                out_second[cursor] = b * n_alleles + v
            cursor += 1
    return cursor


@kernel()
def extend_pairs(offsets, first, second, oriented, genotype, phased, n_alleles):
    """Insert one locus: every pair {a, b} of every subject becomes the pairs
    {a + u, b + v} its genotype {x, y} allows (all alleles where one is missing).

    Returns (new offsets, first keys, second keys, new oriented flags); a key is
    parent id * n_alleles + allele.  ``genotype`` is (n, 2), ``phased`` (n,).
    """
    n_subjects = offsets.shape[0] - 1
    options = np.empty((n_alleles * n_alleles, 2), dtype=np.int64)
    empty = np.empty(0, dtype=np.int64)
    new_offsets = np.zeros(n_subjects + 1, dtype=np.int64)
    for i in range(n_subjects):
        new_offsets[i + 1] = _extend_subject(i, offsets, first, second, oriented, genotype,
                                             phased, n_alleles, options, empty, empty,
                                             new_offsets[i], False)
    out_first = np.empty(new_offsets[-1], dtype=np.int64)
    out_second = np.empty(new_offsets[-1], dtype=np.int64)
    new_oriented = oriented.copy()
    for i in range(n_subjects):
        _extend_subject(i, offsets, first, second, oriented, genotype, phased, n_alleles,
                        options, out_first, out_second, new_offsets[i], True)
        x, y = genotype[i, 0], genotype[i, 1]
        if phased[i] and x >= 0 and y >= 0 and x != y:
            new_oriented[i] = True
    return new_offsets, out_first, out_second, new_oriented


@kernel()
def _carries(code, x, y):
    """A haplotype allele ``code`` fits genotype {x, y} (-1 missing)."""
    if x < 0 or y < 0:
        return True
    return code == x or code == y


#: an orientation contradicting the phased loci seen so far (0: none seen yet)
CONFLICT = 2


@kernel()
def _oriented(orientation, side):
    """The orientation after a phased heterozygous locus on ``side`` (+1 or -1)."""
    if orientation == 0 or orientation == side:
        return side
    return CONFLICT


@kernel()
def _informative_loci(genotype, i, out):
    """Loci where two haplotypes that each fit subject i can still fail as a pair (typed
    heterozygous and half-missing ones), written to ``out``; returns their count."""
    count = 0
    for l in range(genotype.shape[1]):
        x, y = genotype[i, l, 0], genotype[i, l, 1]
        if (x >= 0 and y >= 0 and x != y) or ((x >= 0) != (y >= 0)):
            out[count] = l
            count += 1
    return count


@kernel()
def _members_pair(g, h, genotype, phased, i, loci, n_informative):
    """Haplotypes g, h, each fitting subject i, form a compatible pair: distinct alleles
    at its heterozygous loci, the known allele of a half-missing call on one of them,
    and one consistent orientation across the phased heterozygous loci."""
    orientation = 0
    for k in range(n_informative):
        l = loci[k]
        x, y = genotype[i, l, 0], genotype[i, l, 1]
        if x >= 0 and y >= 0:
            if g[l] == h[l]:
                return False
            if phased[i, l]:
                orientation = _oriented(orientation, 1 if g[l] == x else -1)
                if orientation == CONFLICT:
                    return False
        elif g[l] != max(x, y) and h[l] != max(x, y):
            return False
    return True


@kernel()
def _fits_subject(code_row, genotype, i):
    for l in range(code_row.shape[0]):
        if not _carries(code_row[l], genotype[i, l, 0], genotype[i, l, 1]):
            return False
    return True


@kernel()
def _compatible_haplotypes(codes, genotype, i, active, out, start=0):
    """Indices (from ``start`` on) of active haplotypes whose every allele fits subject i;
    returns their count."""
    count = 0
    for h in range(start, codes.shape[0]):
        if active[h] and _fits_subject(codes[h], genotype, i):
            out[count] = h
            count += 1
    return count


@kernel()
def _grown(array, used):
    """An array of twice the rows of ``array`` holding its first ``used`` rows."""
    bigger = np.empty((2 * array.shape[0],) + array.shape[1:], dtype=array.dtype)
    bigger[:used] = array[:used]
    return bigger


@kernel()
def _write_member_pairs(codes, genotype, phased, i, members, count, newest, loci,
                        n_informative, first, second, cursor):
    """Subject i's compatible pairs {members[p], members[q]}, p <= q, q >= ``newest``,
    written from ``cursor`` on (room for count (count + 1) / 2); returns the cursor."""
    for p in range(count):
        for q in range(max(p, newest), count):
            if _members_pair(codes[members[p]], codes[members[q]], genotype, phased, i, loci,
                             n_informative):
                first[cursor] = members[p]
                second[cursor] = members[q]
                cursor += 1
    return cursor


@kernel()
def _copy_pairs(known_first, known_second, lo, hi, first, second, cursor):
    """Known pairs lo:hi copied to ``cursor`` on; returns the cursor."""
    for j in range(lo, hi):
        first[cursor] = known_first[j]
        second[cursor] = known_second[j]
        cursor += 1
    return cursor


@kernel()
def compatible_pairs(codes, genotype, phased, first_new, known_offsets, known_first,
                     known_second):
    """Every unordered pair {a <= b} of haplotypes (rows of ``codes``, (H, L))
    compatible with each subject's genotype (n, L, 2).  The pairs among rows below
    ``first_new`` are the known ones (``known_offsets`` per subject into
    ``known_first``/``known_second``; first_new 0 and no known pairs enumerates all):
    each subject keeps those, then gets the pairs with b >= first_new.  Returns
    (offsets, first, second)."""
    n_subjects = genotype.shape[0]
    active = np.ones(codes.shape[0], dtype=np.bool_)
    members = np.empty(codes.shape[0], dtype=np.int64)
    loci = np.empty(genotype.shape[1], dtype=np.int64)
    offsets = np.zeros(n_subjects + 1, dtype=np.int64)
    first = np.empty(known_first.shape[0] + 4 * n_subjects + 16, dtype=np.int64)
    second = np.empty_like(first)
    cursor = 0
    for i in range(n_subjects):
        cursor = _copy_pairs(known_first, known_second, known_offsets[i], known_offsets[i + 1],
                             first, second, cursor)
        offsets[i + 1] = cursor
        if first_new > 0 and _compatible_haplotypes(codes, genotype, i, active, members,
                                                    first_new) == 0:
            continue
        count = _compatible_haplotypes(codes, genotype, i, active, members)
        newest = 0
        while newest < count and members[newest] < first_new:
            newest += 1
        room = count * (count + 1) // 2 + known_offsets[n_subjects] - known_offsets[i + 1]
        while cursor + room > first.shape[0]:
            first, second = _grown(first, cursor), _grown(second, cursor)
        cursor = _write_member_pairs(codes, genotype, phased, i, members, count, newest, loci,
                                     _informative_loci(genotype, i, loci), first, second,
                                     cursor)
        offsets[i + 1] = cursor
    return offsets, first[:cursor], second[:cursor]


@kernel()
def _complements(g, genotype, phased, i, choices, n_choices, max_expand, fixed, out, cursor,
                 write):
    """Haplotypes h that complete haplotype g to subject i's genotype (every choice at
    loci where h's allele is free); returns the new cursor, or -1 past ``max_expand``."""
    n_loci = g.shape[0]
    fixed[:] = -1
    n_free = 1
    orientation = 0
    for l in range(n_loci):
        x, y = genotype[i, l, 0], genotype[i, l, 1]
        if x >= 0 and y >= 0:
            if g[l] != x and g[l] != y:
                return cursor
            fixed[l] = y if g[l] == x else x
            if phased[i, l] and x != y:
                orientation = _oriented(orientation, 1 if g[l] == x else -1)
                if orientation == CONFLICT:
                    return cursor
        elif x >= 0 or y >= 0:
            known = max(x, y)
            if g[l] != known:
                fixed[l] = known
        if fixed[l] < 0:
            n_free *= n_choices[l]
            if n_free > max_expand:
                return -1
    for combination in range(n_free):
        if write:
            rest = combination
            for l in range(n_loci):
                if fixed[l] >= 0:
                    out[cursor, l] = fixed[l]
                else:
                    out[cursor, l] = choices[l, rest % n_choices[l]]
                    rest //= n_choices[l]
        cursor += 1
    return cursor


@kernel()
def _count_complements(codes, genotype, phased, i, members, count, choices, n_choices,
                       max_expand, fixed):
    """How many completions subject i's ``count`` members have (-1 when one has more
    than ``max_expand``)."""
    dummy = np.empty((0, codes.shape[1]), dtype=codes.dtype)
    total = 0
    for p in range(count):
        total = _complements(codes[members[p]], genotype, phased, i, choices, n_choices,
                             max_expand, fixed, dummy, total, False)
        if total < 0:
            break
    return total


@kernel()
def _write_complements(codes, genotype, phased, i, members, count, choices, n_choices,
                       max_expand, fixed, subjects, parents, out, cursor):
    """Subject i's completions of each of its ``count`` members, written from
    ``cursor`` on; returns the cursor."""
    for p in range(count):
        end = _complements(codes[members[p]], genotype, phased, i, choices, n_choices,
                           max_expand, fixed, out, cursor, True)
        subjects[cursor:end] = i
        parents[cursor:end] = members[p]
        cursor = end
    return cursor


@kernel()
def complement_candidates(codes, genotype, phased, active, choices, n_choices, max_expand):
    """For every subject and every active haplotype g compatible with it, the haplotypes
    h completing g to the genotype (free alleles drawn from ``choices[l, :n_choices[l]]``).

    Returns (subject index, g index, candidate codes (M, L), subjects skipped because
    one g had more than ``max_expand`` completions).
    """
    n_subjects, n_loci = genotype.shape[0], genotype.shape[1]
    members = np.empty(codes.shape[0], dtype=np.int64)
    fixed = np.empty(n_loci, dtype=np.int64)
    kept = np.empty(4 * n_subjects + 16, dtype=np.int64)  # members of searched subjects
    kept_offsets = np.zeros(n_subjects + 1, dtype=np.int64)
    totals = np.zeros(n_subjects + 1, dtype=np.int64)
    n_skipped = 0
    for i in range(n_subjects):
        kept_offsets[i + 1] = kept_offsets[i]
        totals[i + 1] = totals[i]
        count = _compatible_haplotypes(codes, genotype, i, active, members)
        subject_total = _count_complements(codes, genotype, phased, i, members, count,
                                           choices, n_choices, max_expand, fixed)
        if subject_total < 0:
            n_skipped += 1
            continue
        while kept_offsets[i] + count > kept.shape[0]:
            kept = _grown(kept, kept_offsets[i])
        kept[kept_offsets[i]:kept_offsets[i] + count] = members[:count]
        kept_offsets[i + 1] = kept_offsets[i] + count
        totals[i + 1] = totals[i] + subject_total
    subjects = np.empty(totals[-1], dtype=np.int64)
    parents = np.empty(totals[-1], dtype=np.int64)
    out = np.empty((totals[-1], n_loci), dtype=codes.dtype)
    for i in range(n_subjects):
        lo = kept_offsets[i]
        _write_complements(codes, genotype, phased, i, kept[lo:], kept_offsets[i + 1] - lo,
                           choices, n_choices, max_expand, fixed, subjects, parents, out,
                           totals[i])
    return subjects, parents, out, n_skipped
