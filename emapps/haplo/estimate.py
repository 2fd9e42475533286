"""Maximum-likelihood haplotype frequencies (Excoffier & Slatkin 1995) that scale.

A start runs in three steps, each EM fit going through the core driver:

1. Progressive insertion (as haplo.em and SNPHAP): loci are added one at a time; every
   subject's haplotype pairs are extended by the alleles its genotype allows (all of a
   locus' alleles where one is missing), EM runs, and pairs whose posterior falls below
   ``min_posterior`` are trimmed, so the pair lists never explode.
2. A final EM over *every* pair of surviving haplotypes compatible with each subject,
   untrimmed.
3. Column generation: a haplotype h outside the set whose frequency gradient
   dl/df_h = sum_i w_i sum_g c f_g / L_i exceeds 2 sum_i w_i (the KKT multiplier) would
   raise the likelihood if added; such haplotypes (the completions of surviving ones)
   are added and step 2 repeats, so the answer satisfies the optimality conditions over
   all haplotypes, not only the trimmed survivors.

The likelihood is multimodal, so a fit is an iterated local search over such local
maxima: the first start runs all three steps; every further start perturbs the best fit
so far, mixing its frequencies with flat Dirichlet noise over its haplotypes and all their
completions, trims pairs after a rough EM, and reruns steps 2-3.  Single subjects
carrying rare haplotypes are then rephased (:func:`rephase_subjects`) and the best is
polished to ``tol``.
"""

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..em import fit_em
from ..kernels.pairs import (complement_candidates, compatible_pairs, extend_pairs,
                             pair_mixture_pass, pair_posteriors)
from ..kernels.rows import unique_rows

#: frequencies below this are treated as zero in logs (log 0 = -inf is kept exact)
TINY = 1e-300
#: haplotypes at or below this frequency are dropped between local searches
PRUNE_FREQ = 1e-10


@dataclass
class PairSet:
    """Each subject's compatible haplotype pairs over the haplotype table ``codes``."""

    offsets: np.ndarray      # (n + 1,) subject i owns pairs offsets[i]:offsets[i+1]
    first: np.ndarray        # (P,) haplotype index
    second: np.ndarray       # (P,)
    codes: np.ndarray        # (H, loci so far) allele codes of each haplotype

    @property
    def n_haplotypes(self) -> int:
        return self.codes.shape[0]

    @property
    def n_pairs(self) -> int:
        return self.first.shape[0]

    def subject_of_pair(self) -> np.ndarray:
        return np.repeat(np.arange(self.offsets.shape[0] - 1), np.diff(self.offsets))


class FrequencyModel:
    """EM model for haplotype frequencies f over a PairSet.

    E-step: expected counts n_h = sum_i w_i sum_j post_ij [h in pair j]; M-step
    f_h = n_h / sum_h n_h.  SQUAREM works on log f (softmax back), so no extrapolation
    leaves the simplex.
    """

    def __init__(self, weights: np.ndarray):
        self.weights = weights
        self.total_weight = float(weights.sum())

    def initial_params(self, pairs: PairSet, rng) -> np.ndarray:
        return np.full(pairs.n_haplotypes, 1.0 / pairs.n_haplotypes)

    def e_step(self, freq: np.ndarray, pairs: PairSet) -> dict:
        counts, loglik = pair_mixture_pass(pairs.offsets, pairs.first, pairs.second, freq,
                                           self.weights)
        return {"counts": counts, "loglik": loglik, "weight": self.total_weight}

    def m_step(self, freq: np.ndarray, stats: dict) -> np.ndarray:
        return stats["counts"] / stats["counts"].sum()

    def pack(self, freq: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(freq, TINY))

    def unpack(self, vector: np.ndarray, like) -> np.ndarray | None:
        if not np.all(np.isfinite(vector)):
            return None
        freq = np.exp(vector - vector.max())
        freq[freq < TINY] = 0.0
        return freq / freq.sum()


@dataclass
class Settings:
    """EM settings of one fit (haplo.em's control, plus the final-stage ones)."""

    min_posterior: float = 1e-9
    insert_tol: float = 1e-5
    search_tol: float = 1e-4
    rough_tol: float = 1e-2
    tol: float = 1e-9
    max_iter: int = 5000
    max_expand: int = 4096
    #: perturbed starts add the completions of a haplotype only where a subject leaves at
    #: most this many (missing alleles otherwise fan out over every allele of their locus)
    perturb_expand: int = 16
    max_rounds: int = 50
    accelerate: str | None = "squarem"


@dataclass
class StartResult:
    """Outcome of one start: haplotypes, frequencies, pairs, and how it got there."""

    pairs: PairSet
    freq: np.ndarray
    loglik: float
    em: object
    trace: list
    stages: list = field(default_factory=list)
    rounds: int = 0
    skipped_subjects: int = 0
    converged: bool = True


def fit_frequencies(pairs: PairSet, freq, weights, *, tol, max_iter, accelerate=None):
    """EM from ``freq`` over ``pairs`` through the core driver (tolerance on the total
    log-likelihood, as haplo.em)."""
    # the start is given, so no random draw is made: seed 0 spares gathering OS entropy
    return fit_em(FrequencyModel(weights), pairs, init_params=freq, tol=tol, tol_on="total",
                  max_iter=max_iter, accelerate=accelerate, warn=False, seed=0)


def root_pairs(n_subjects: int) -> tuple[PairSet, np.ndarray]:
    """Before any locus: one empty haplotype, paired with itself in every subject."""
    offsets = np.arange(n_subjects + 1, dtype=np.int64)
    zeros = np.zeros(n_subjects, dtype=np.int64)
    return (PairSet(offsets, zeros, zeros.copy(), np.zeros((1, 0), dtype=np.int16)),
            np.zeros(n_subjects, dtype=bool))


def insert_locus(pairs: PairSet, oriented, alleles, phased, n_alleles):
    """Pairs extended by one locus (alleles (n, 2), phased (n,)), with parent and allele
    of every new haplotype; returns (PairSet, oriented, parent, allele)."""
    offsets, key1, key2, oriented = extend_pairs(pairs.offsets, pairs.first, pairs.second,
                                                 oriented, alleles, phased, n_alleles)
    keys, inverse = np.unique(np.concatenate([key1, key2]), return_inverse=True)
    parent, allele = keys // n_alleles, keys % n_alleles
    codes = np.column_stack([pairs.codes[parent], allele.astype(np.int16)])
    n_pairs = key1.shape[0]
    return (PairSet(offsets, inverse[:n_pairs], inverse[n_pairs:], codes),
            oriented, parent, allele)


def trim(pairs: PairSet, freq, min_posterior) -> tuple[PairSet, np.ndarray]:
    """Drop pairs with posterior < min_posterior, then haplotypes left in no pair."""
    posterior, _ = pair_posteriors(pairs.offsets, pairs.first, pairs.second, freq)
    keep = posterior >= min_posterior
    counts = np.bincount(pairs.subject_of_pair()[keep], minlength=pairs.offsets.shape[0] - 1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    used = np.zeros(pairs.n_haplotypes, dtype=bool)
    used[pairs.first[keep]] = True
    used[pairs.second[keep]] = True
    renumber = np.cumsum(used) - 1
    freq = freq[used]
    return (PairSet(offsets, renumber[pairs.first[keep]], renumber[pairs.second[keep]],
                    pairs.codes[used]), freq / freq.sum())


def all_pairs(codes, genotypes) -> PairSet:
    """Every compatible pair of the haplotypes ``codes`` for every subject, untrimmed."""
    none = np.empty(0, dtype=np.int64)
    offsets, first, second = compatible_pairs(
        codes, genotypes.alleles, genotypes.phased, 0,
        np.zeros(genotypes.n_subjects + 1, dtype=np.int64), none, none)
    return PairSet(offsets, first, second, codes)


def with_new_haplotypes(pairs: PairSet, rows, genotypes) -> PairSet:
    """``pairs`` after appending haplotype ``rows``: only pairs involving them are
    enumerated, after each subject's known ones."""
    if len(rows) == 0:
        return pairs
    codes = np.concatenate([pairs.codes, rows])
    offsets, first, second = compatible_pairs(
        codes, genotypes.alleles, genotypes.phased, pairs.n_haplotypes, pairs.offsets,
        pairs.first, pairs.second)
    return PairSet(offsets, first, second, codes)


def improving_haplotypes(pairs: PairSet, freq, genotypes, weights, max_expand, tol=1e-6):
    """Haplotypes outside ``pairs.codes`` whose gradient exceeds the KKT multiplier
    2 sum w (relative slack ``tol``; None: every completion outside), best first; and
    the subjects skipped because one haplotype had more than ``max_expand`` completions."""
    active = freq > 0
    choices, n_choices = _free_allele_choices(pairs.codes[active], genotypes.n_alleles)
    subjects, parents, candidates, skipped = complement_candidates(
        pairs.codes, genotypes.alleles, genotypes.phased, active, choices, n_choices,
        max_expand)
    if candidates.shape[0] == 0:
        return candidates, skipped
    _, subject_loglik = pair_posteriors(pairs.offsets, pairs.first, pairs.second, freq)
    everything = np.concatenate([pairs.codes, candidates])
    first, inverse = unique_rows(everything)
    rows = everything[first]
    known = np.zeros(rows.shape[0], dtype=bool)
    known[inverse[:pairs.n_haplotypes]] = True
    candidate_ids = inverse[pairs.n_haplotypes:]
    outside = ~known[candidate_ids]
    contribution = (2.0 * freq[parents] * weights[subjects]
                    * np.exp(-subject_loglik[subjects]))[outside]
    gradient = np.bincount(candidate_ids[outside], weights=contribution,
                           minlength=rows.shape[0])
    threshold = -1.0 if tol is None else 2.0 * weights.sum() * (1.0 + tol)
    better = np.flatnonzero((gradient > threshold) & ~known)
    better = better[np.argsort(-gradient[better], kind="stable")]
    return rows[better], skipped


def _free_allele_choices(codes, n_alleles):
    """Per locus, the alleles carried by some surviving haplotype: what a free
    (missing) allele of a completion is drawn from."""
    n_loci = codes.shape[1]
    choices = np.zeros((n_loci, max(1, int(n_alleles.max()))), dtype=np.int16)
    n_choices = np.zeros(n_loci, dtype=np.int64)
    for locus in range(n_loci):
        present = np.unique(codes[:, locus])
        choices[locus, :present.size] = present
        n_choices[locus] = present.size
    return choices, n_choices


def _inserted(pairs: PairSet, oriented, freq, genotypes, locus: int):
    """(pairs, oriented, starting frequencies) after inserting ``locus``."""
    n_alleles = int(genotypes.n_alleles[locus])
    pairs, oriented, parent, allele = insert_locus(
        pairs, oriented, genotypes.alleles[:, locus], genotypes.phased[:, locus], n_alleles)
    return pairs, oriented, _extended_frequencies(freq, parent, allele,
                                                  genotypes.alleles[:, locus], n_alleles)


def run_start(genotypes, weights, settings: Settings) -> StartResult:
    """The first start: progressive insertion, final untrimmed EM, column generation."""
    stages = []
    pairs, oriented = root_pairs(genotypes.n_subjects)
    freq = np.ones(1)
    for locus in range(genotypes.n_loci):
        started = time.perf_counter()
        pairs, oriented, freq = _inserted(pairs, oriented, freq, genotypes, locus)
        result = fit_frequencies(pairs, freq, weights, tol=settings.insert_tol,
                                 max_iter=settings.max_iter)
        n_before = pairs.n_pairs
        pairs, freq = trim(pairs, result.params, settings.min_posterior)
        stages.append({"locus": locus, "pairs": n_before, "pairs_kept": pairs.n_pairs,
                       "haplotypes": pairs.n_haplotypes, "n_iter": result.n_iter,
                       "loglik": result.loglik, "seconds": time.perf_counter() - started})
    return final_stage(pairs.codes, freq, genotypes, weights, settings, settings.search_tol,
                       stages)


def locus_loglik(genotypes, weights, locus: int, settings: Settings) -> float:
    """Maximum log-likelihood of one locus' allele frequencies: inserting the locus
    enumerates every pair its genotypes allow, so one EM without trimming is exact."""
    pairs, oriented = root_pairs(genotypes.n_subjects)
    pairs, _, freq = _inserted(pairs, oriented, np.ones(1), genotypes, locus)
    return fit_frequencies(pairs, freq, weights, tol=settings.tol, max_iter=settings.max_iter,
                           accelerate=settings.accelerate).loglik


def perturbed_start(best: StartResult, genotypes, weights, rng, settings: Settings,
                    strength: float = 0.6) -> StartResult:
    """A new local search from the best fit so far: its haplotypes (above PRUNE_FREQ) and
    their completions (those of subjects leaving at most ``perturb_expand`` per haplotype),
    at (1 - strength) * best + strength * Dirichlet(1) noise, through a rough EM (to
    ``rough_tol``) and pair trimming, then the final stage."""
    best = pruned(best, genotypes)
    neighbours, _ = improving_haplotypes(best.pairs, best.freq, genotypes, weights,
                                         settings.perturb_expand, tol=None)
    codes = np.concatenate([best.pairs.codes, neighbours])
    noise = rng.exponential(size=codes.shape[0])
    freq = np.concatenate([best.freq, np.zeros(neighbours.shape[0])])
    start = (1.0 - strength) * freq / freq.sum() + strength * noise / noise.sum()
    pairs = all_pairs(codes, genotypes)
    rough = fit_frequencies(pairs, start, weights, tol=settings.rough_tol,
                            max_iter=settings.max_iter, accelerate=settings.accelerate)
    pairs, freq = trim(pairs, rough.params, settings.min_posterior)
    return final_stage(pairs.codes, freq, genotypes, weights, settings, settings.search_tol,
                       best.stages)


def final_stage(codes, freq, genotypes, weights, settings, tol, stages=()) -> StartResult:
    """EM over every compatible pair of ``codes`` (to ``tol``), adding improving
    haplotypes and refitting until none is left (or ``max_rounds``)."""
    trace = []
    skipped = 0
    result = None
    pairs = all_pairs(codes, genotypes)
    for rounds in range(settings.max_rounds + 1):
        result = fit_frequencies(pairs, freq, weights, tol=tol, max_iter=settings.max_iter,
                                 accelerate=settings.accelerate)
        trace.extend(result.trace)
        freq = result.params
        if rounds == settings.max_rounds:
            break
        better, skipped = improving_haplotypes(pairs, freq, genotypes, weights,
                                               settings.max_expand)
        if better.shape[0] == 0:
            break
        pairs = with_new_haplotypes(pairs, better, genotypes)
        share = min(1e-3, 1.0 / (10 * pairs.n_haplotypes))
        freq = np.concatenate([freq * (1.0 - share * better.shape[0]),
                               np.full(better.shape[0], share)])
    return StartResult(pairs, freq, result.loglik, result, trace, list(stages), rounds, skipped,
                       result.converged)


def subject_pairs(genotypes, subject: int, limit: int):
    """Every haplotype pair compatible with one subject as a (P, 2, L) code array, or
    None when there are more than ``limit``."""
    alleles = genotypes.alleles[subject]
    heterozygous = int(((alleles[:, 0] != alleles[:, 1]) & (alleles >= 0).all(axis=1)).sum())
    if heterozygous > 1 and 2 ** (heterozygous - 1) > limit:  # a lower bound on the count
        return None
    pairs, oriented = root_pairs(1)
    alleles = genotypes.alleles[subject:subject + 1]
    phased = genotypes.phased[subject:subject + 1]
    for locus in range(genotypes.n_loci):
        pairs, oriented, _, _ = insert_locus(pairs, oriented, alleles[:, locus],
                                             phased[:, locus], int(genotypes.n_alleles[locus]))
        if pairs.n_pairs > limit:
            return None
    return np.stack([pairs.codes[pairs.first], pairs.codes[pairs.second]], axis=1)


def _with_haplotypes(pairs: PairSet, freq, rows, index_of, genotypes):
    """(pairs, freq, index of each row) after adding the rows not yet among the
    haplotypes (at frequency 0); ``index_of`` maps each haplotype's bytes to its row."""
    index, added = [], {}
    for row in rows:
        key = row.tobytes()
        if key not in index_of and key not in added:
            added[key] = (pairs.n_haplotypes + len(added), row)
        index.append(index_of[key] if key in index_of else added[key][0])
    new_rows = np.array([row for _, row in added.values()], dtype=pairs.codes.dtype)
    return (with_new_haplotypes(pairs, new_rows.reshape(len(added), pairs.codes.shape[1]),
                                genotypes),
            np.concatenate([freq, np.zeros(len(added))]), index)


def rephase_subjects(best: StartResult, genotypes, weights, settings: Settings,
                     rare: float = 3.0, limit: int = 64, first_tries: int = 4,
                     max_passes: int = 10) -> StartResult:
    """Local search over single subjects' phase, in passes until one gains nothing.

    A subject whose most likely pair holds a rare haplotype (expected count <= ``rare``),
    and who has at most ``limit`` compatible pairs, has that pair's share of frequency
    moved to each of its likeliest other pairs (highest f_g f_h under the fit) in turn;
    EM runs from there and the move is kept when the likelihood rises.  Passes try the
    ``first_tries`` likeliest pairs until they gain nothing, then every pair.  This
    escapes the local maxima where EM has locked a few subjects' rare haplotypes in one
    phase, which restarts rarely do."""
    alternatives = {}
    for tries in (first_tries, limit):
        for _ in range(max_passes):
            before = best.loglik
            best, truncated = _rephase_pass(best, genotypes, weights, settings, rare, limit,
                                            tries, alternatives)
            if best.loglik <= before + 1e-6:
                break
        if best.loglik <= before + 1e-6 and not truncated:
            break  # that pass tried every pair: a full pass would repeat it
    return best


def _likeliest_moves(alternatives, current, index_of, freq):
    """The alternative pairs (g, h) other than ``current``, by decreasing f_g f_h under
    the fit, then f_g + f_h (a haplotype outside it counts as 0)."""
    def frequency(row):
        h = index_of.get(row.tobytes())
        return 0.0 if h is None else freq[h]

    def score(pair):
        f_g, f_h = frequency(pair[0]), frequency(pair[1])
        return f_g * f_h, f_g + f_h

    taken = {current[0].tobytes(), current[1].tobytes()}
    moves = [pair for pair in alternatives if {pair[0].tobytes(), pair[1].tobytes()} != taken]
    return sorted(moves, key=score, reverse=True)


def _rephase_pass(best, genotypes, weights, settings, rare, limit, tries, alternatives):
    """One pass over the subjects; ``alternatives`` caches each subject's pairs.  Returns
    (the best fit, whether some subject had more than ``tries`` pairs to try)."""
    total = 2.0 * weights.sum()
    best = pruned(best, genotypes)
    posterior = None
    truncated = False
    for subject in range(genotypes.n_subjects):
        pairs = best.pairs
        if posterior is None:
            posterior, _ = pair_posteriors(pairs.offsets, pairs.first, pairs.second,
                                           best.freq)
            index_of = {row.tobytes(): h for h, row in enumerate(pairs.codes)}
        lo, hi = pairs.offsets[subject], pairs.offsets[subject + 1]
        j = lo + int(np.argmax(posterior[lo:hi]))
        a, b = pairs.first[j], pairs.second[j]
        if min(best.freq[a], best.freq[b]) * total > rare:
            continue
        if subject not in alternatives:
            alternatives[subject] = subject_pairs(genotypes, subject, limit)
        if alternatives[subject] is None:
            continue
        share = weights[subject] * posterior[j] / total
        moves = _likeliest_moves(alternatives[subject], pairs.codes[[a, b]], index_of,
                                 best.freq)
        truncated |= len(moves) > tries
        for alternative in moves[:tries]:
            moved_pairs, freq, (g, h) = _with_haplotypes(pairs, best.freq, alternative,
                                                         index_of, genotypes)
            freq[a] -= share
            freq[b] -= share
            freq[g] += share
            freq[h] += share
            freq = np.maximum(freq, 0.0)
            moved = fit_frequencies(moved_pairs, freq / freq.sum(), weights,
                                    tol=settings.search_tol, max_iter=settings.max_iter)
            if moved.loglik > best.loglik + 1e-6:
                best = pruned(final_stage(moved_pairs.codes, moved.params, genotypes, weights,
                                          settings, settings.search_tol, best.stages),
                              genotypes)
                posterior = None
                break
    return best, truncated


def pruned(result: StartResult, genotypes, floor: float = PRUNE_FREQ) -> StartResult:
    """The result without haplotypes at or below ``floor`` (its pairs re-enumerated)."""
    keep = result.freq > floor
    if keep.all():
        return result
    freq = result.freq[keep] / result.freq[keep].sum()
    return replace(result, pairs=all_pairs(result.pairs.codes[keep], genotypes), freq=freq)


def _extended_frequencies(freq, parent, allele, locus_alleles, n_alleles):
    """Starting frequencies after an insertion: parent frequency x allele frequency
    (linkage equilibrium; allele counts + 1/2)."""
    observed = locus_alleles[locus_alleles >= 0]
    allele_freq = np.bincount(observed, minlength=n_alleles) + 0.5
    start = freq[parent] * allele_freq[allele]
    return start / start.sum()
