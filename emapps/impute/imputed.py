"""Imputation results: sites and samples, dosages, genotype probabilities and Beagle's
DR2."""

from dataclasses import dataclass, field

import numpy as np

from ..kernels.genotype_cells import haplotype_cells
from .io import Sites

#: GT code of a haploid call of REF (ALT: one more), after the diploid codes 0-6
HAPLOID_GT = 7
#: a GP value code that writes nothing (a haploid call's third genotype)
NO_VALUE = np.iinfo(np.int16).max


@dataclass
class ImputedSites(Sites):
    """The sites and samples of an imputation result; subclasses give ``dosage``,
    ``genotype_codes()`` and ``genotype_probs()``."""

    def cell_codes(self) -> tuple:
        """(GT code, DS, P(0), P(1), P(2) in hundredths), each (N, S), for the output."""
        return (self.genotype_codes(), np.rint(self.dosage * 100).astype(np.int64),
                *(np.rint(probs * 100).astype(np.int64) for probs in self.genotype_probs()))

    @property
    def alt_frequency(self) -> np.ndarray:
        return 0.5 * self.dosage.mean(axis=0, dtype=np.float64)


@dataclass
class Imputed(ImputedSites):
    """Every panel site of the region for every target sample, from two phased
    haplotypes' ALT probabilities."""

    haplotype_probs: tuple      # (first, second): (N, S) P(ALT) on each phased haplotype
    imputed: np.ndarray         # (S,) bool: not typed in the target
    record: dict = field(default_factory=dict)
    estimated: np.ndarray | None = None   # (N, S) bool: entries filled in (cohort mode)
    #: (S,) the input record of each site: sites split from one multi-allelic record
    #: share it and are written back as that record (None: nothing was split)
    source_records: np.ndarray | None = None
    #: (N, S) bool: the sample is haploid at the site (its first haplotype is its call;
    #: the second repeats it); None when every call is diploid
    haploid: np.ndarray | None = None

    @property
    def dosage(self) -> np.ndarray:
        """(N, S) expected ALT count."""
        first, second = self.haplotype_probs
        if self.haploid is None:
            return first + second
        return first + np.where(self.haploid, 0, second)

    @property
    def alt_frequency(self) -> np.ndarray:
        if self.haploid is None:
            return super().alt_frequency
        copies = 2 * self.haploid.shape[0] - self.haploid.sum(axis=0)
        return self.dosage.sum(axis=0, dtype=np.float64) / copies

    def genotype_codes(self) -> np.ndarray:
        """(N, S) GT codes: 0-3 phased diploid (0|0, 0|1, 1|0, 1|1), 7-8 haploid (0, 1):
        each haplotype's likelier allele."""
        first, second = self.haplotype_probs
        codes = 2 * (first > 0.5) + (second > 0.5)
        if self.haploid is None:
            return codes
        return np.where(self.haploid, HAPLOID_GT + (first > 0.5), codes)

    def genotype_probs(self) -> tuple:
        """(P(0), P(1), P(2)), each (N, S), from the two haplotypes' ALT probabilities (a
        haploid call's P(0) and P(1) as its P(0) and P(2))."""
        if self.haploid is None:
            return genotype_probs(*self.haplotype_probs)
        first, second = self.haplotype_probs
        return genotype_probs(first, np.where(self.haploid, first, second))

    def cell_codes(self) -> tuple:
        """As ImputedSites.cell_codes, in one pass over the haplotype probabilities; a
        haploid cell's two GP values come as its P(1) and P(2) codes, its P(0) code is
        NO_VALUE."""
        first, second = (np.ascontiguousarray(probs) for probs in self.haplotype_probs)
        codes = haplotype_cells(first, second)
        if self.haploid is not None:
            gt, ds, gp0, gp1, gp2 = codes
            rows, sites = np.nonzero(self.haploid)
            alt = first[rows, sites].astype(np.float64)
            gt[rows, sites] = HAPLOID_GT + (alt > 0.5)
            ds[rows, sites] = gp2[rows, sites] = np.rint(alt * 100)
            gp1[rows, sites] = np.rint((1 - alt) * 100)
            gp0[rows, sites] = NO_VALUE
        return codes

    @property
    def dosage_r2(self) -> np.ndarray:
        """Beagle's DR2: the variance of the haplotypes' ALT probabilities over p(1 - p),
        p their mean (0 at sites without variation).  With ``estimated`` entries (cohort
        mode) only their probabilities enter the variance, p is the site's frequency
        over every haplotype, and a site with none estimated gets 1."""
        chosen = (None if self.estimated is None
                  else np.concatenate([self.estimated, self.estimated]))
        present = (None if self.haploid is None
                   else np.concatenate([np.ones_like(self.haploid), ~self.haploid]))
        return variance_ratio(np.concatenate(self.haplotype_probs), chosen, 1, present)


def genotype_probs(first, second) -> tuple:
    """(P(0), P(1), P(2)) of a genotype whose two haplotypes carry ALT independently with
    probabilities ``first`` and ``second``."""
    return ((1 - first) * (1 - second), first * (1 - second) + (1 - first) * second,
            first * second)


def variance_ratio(values, chosen, copies, present=None) -> np.ndarray:
    """Per site (columns of ``values``, rows of ALT counts out of ``copies``), the
    variance of the values (of the ``chosen`` ones only, when given; 1 where none is)
    over copies p (1 - p), p = mean / copies over every row (0 without variation).
    ``present``: the rows that exist (a haploid call's second haplotype does not)."""
    if present is not None:
        values = np.where(present, values, 0.0)
        count = present.sum(axis=0)
        chosen = present if chosen is None else chosen & present
        mean = values.sum(axis=0, dtype=np.float64) / count
    else:
        mean = values.mean(axis=0, dtype=np.float64)
    frequency = mean / copies
    spread = copies * frequency * (1 - frequency)
    if chosen is None:
        variance = np.square(values, dtype=np.float64).mean(axis=0) - mean ** 2
    else:
        count = chosen.sum(axis=0)
        inside = np.where(chosen, values, 0.0)
        centre = inside.sum(axis=0) / np.maximum(count, 1)
        variance = (inside ** 2).sum(axis=0) / np.maximum(count, 1) - centre ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(spread > 1e-12, np.clip(variance / spread, 0, 1), 0.0)
    if chosen is not None:
        r2 = np.where(chosen.any(axis=0), r2, 1.0)
    return r2
