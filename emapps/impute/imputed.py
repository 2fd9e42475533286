"""Imputation results: sites and samples, dosages, genotype probabilities and Beagle's
DR2."""

from dataclasses import dataclass, field

import numpy as np

from ..kernels.genotype_cells import haplotype_cells
from .io import Sites


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

    @property
    def dosage(self) -> np.ndarray:
        """(N, S) expected ALT count."""
        return self.haplotype_probs[0] + self.haplotype_probs[1]

    def genotype_codes(self) -> np.ndarray:
        """(N, S) phased GT codes 0-3 (0|0, 0|1, 1|0, 1|1): each haplotype's likelier
        allele."""
        first, second = self.haplotype_probs
        return 2 * (first > 0.5) + (second > 0.5)

    def genotype_probs(self) -> tuple:
        """(P(0), P(1), P(2)), each (N, S), from the two haplotypes' ALT probabilities."""
        return genotype_probs(*self.haplotype_probs)

    def cell_codes(self) -> tuple:
        """As ImputedSites.cell_codes, in one pass over the haplotype probabilities."""
        first, second = (np.ascontiguousarray(probs) for probs in self.haplotype_probs)
        return haplotype_cells(first, second)

    @property
    def dosage_r2(self) -> np.ndarray:
        """Beagle's DR2: the variance of the haplotypes' ALT probabilities over p(1 - p),
        p their mean (0 at sites without variation).  With ``estimated`` entries (cohort
        mode) only their probabilities enter the variance, p is the site's frequency
        over every haplotype, and a site with none estimated gets 1."""
        chosen = (None if self.estimated is None
                  else np.concatenate([self.estimated, self.estimated]))
        return variance_ratio(np.concatenate(self.haplotype_probs), chosen, 1)


def genotype_probs(first, second) -> tuple:
    """(P(0), P(1), P(2)) of a genotype whose two haplotypes carry ALT independently with
    probabilities ``first`` and ``second``."""
    return ((1 - first) * (1 - second), first * (1 - second) + (1 - first) * second,
            first * second)


def variance_ratio(values, chosen, copies) -> np.ndarray:
    """Per site (columns of ``values``, rows of ALT counts out of ``copies``), the
    variance of the values (of the ``chosen`` ones only, when given; 1 where none is)
    over copies p (1 - p), p = mean / copies over every row (0 without variation)."""
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
