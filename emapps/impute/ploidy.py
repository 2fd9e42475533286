"""Chromosome X: haploid and diploid calls in one run.

Males' calls outside the pseudo-autosomal regions (PARs) are haploid, as 1000 Genomes,
HRC and most callers write them; inside the PARs they are diploid.  The panel's stretches
of constant ploidy (PAR1, the X-specific part, PAR2) are imputed one after the other, each
from the haplotypes its samples carry there (one per haploid sample); a haploid target
call is read as a homozygous diploid one by the copying model and written back haploid
(GT, DS and GP with 2 values).  Which target samples are haploid in a stretch comes from
``--sex`` (males haploid where any panel sample is) or, without it, from their calls."""

from dataclasses import dataclass

import numpy as np

from ..errors import UserInputError
from .io import Calls

#: how sex files spell the two sexes (PLINK's 1 and 2 included); 0, NA or '.' unknown
SEX_CODES = {"1": "male", "m": "male", "male": "male", "2": "female", "f": "female",
             "female": "female", "0": None, "na": None, ".": None, "unknown": None}


@dataclass
class PloidyMap:
    """Stretches of panel sites over which every panel sample's ploidy is constant:
    stretch g holds sites bounds[g] to bounds[g + 1] - 1, where sample k is haploid when
    haploid[g, k]."""

    bounds: np.ndarray    # (G + 1,) int64
    haploid: np.ndarray   # (G, N) bool

    def subset(self, sites) -> "PloidyMap | None":
        """The map of the panel's ``sites`` (ascending) only."""
        stretch = np.searchsorted(self.bounds, sites, side="right") - 1
        kept, first = np.unique(stretch, return_index=True)
        return ploidy_map(np.append(first, len(sites)), self.haploid[kept])

    def present(self, stretch: int) -> np.ndarray:
        """The panel haplotypes (copy c of sample k is c N + k) carried in ``stretch``."""
        n_samples = self.haploid.shape[1]
        return np.concatenate([np.arange(n_samples),
                               n_samples + np.flatnonzero(~self.haploid[stretch])])


def ploidy_map(bounds, haploid) -> PloidyMap | None:
    """The map, or None when every sample is diploid everywhere."""
    haploid = np.asarray(haploid, dtype=bool)
    if not haploid.any():
        return None
    return PloidyMap(np.asarray(bounds, dtype=np.int64), haploid)


class PloidyTracker:
    """Grows a :class:`PloidyMap` as a panel is read: ``add`` each chunk's (N, R)
    haploid flags, then ``finish``."""

    def __init__(self):
        self.bounds, self.patterns, self.sites = [], [], 0

    def add(self, haploid) -> None:
        haploid = np.asarray(haploid, dtype=bool)
        changes = np.flatnonzero((haploid[:, 1:] != haploid[:, :-1]).any(axis=0)) + 1
        for start in np.concatenate([[0], changes]):
            pattern = haploid[:, start]
            if not self.patterns or not np.array_equal(self.patterns[-1], pattern):
                self.bounds.append(self.sites + int(start))
                self.patterns.append(pattern.copy())
        self.sites += haploid.shape[1]

    def finish(self) -> PloidyMap | None:
        if not self.patterns:
            return None
        return ploidy_map(self.bounds + [self.sites], np.stack(self.patterns))


def read_sex_file(path) -> dict:
    """{sample: 'male' | 'female'} from a sex file: one sample per line, its id and its
    sex (1/M/male, 2/F/female; 0, NA or '.' unknown), whitespace-separated; '#' lines
    and a header line are skipped."""
    sexes = {}
    try:
        with open(path) as handle:
            for number, line in enumerate(handle, start=1):
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                code = fields[1].lower() if len(fields) == 2 else None
                if code not in SEX_CODES:
                    if number == 1 and len(fields) == 2:
                        continue   # a header
                    raise UserInputError(f"{path}: line {number}: expected a sample id and "
                                         f"its sex (1/M/male, 2/F/female, 0/NA unknown)")
                if fields[0] in sexes:
                    raise UserInputError(f"{path}: line {number}: sample {fields[0]} again")
                sexes[fields[0]] = SEX_CODES[code]
    except OSError as error:
        raise UserInputError(f"cannot read sex file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not a text sex file") from None
    return sexes


@dataclass
class Stretch:
    """One stretch of constant panel ploidy: its panel ``sites`` (a slice), the panel
    haplotypes carried there (``present``), the target's sites in it and which target
    samples are haploid there."""

    sites: slice
    present: np.ndarray
    target_sites: np.ndarray
    haploid_targets: np.ndarray
    x_specific: bool


def ploidy_stretches(target: Calls, panel, sex: dict | None = None) -> list | None:
    """The stretches to impute one by one (see the module's doc), or None when the panel
    and the target are diploid throughout and no sex is given."""
    ploidy = panel.ploidy
    if ploidy is None and not target.haploid.any() and not sex:
        return None
    if ploidy is None:
        bounds = np.array([0, panel.n_sites])
        haploid_panel = np.zeros((1, len(panel.samples)), dtype=bool)
    else:
        bounds, haploid_panel = ploidy.bounds, ploidy.haploid
    if sex and ploidy is None:
        raise UserInputError(f"{panel.source}: no haploid calls, so --sex cannot tell "
                             f"where males are haploid (the panel's males must be haploid "
                             f"outside the PARs)")
    males = np.array([(sex or {}).get(sample) == "male" for sample in target.samples])
    females = np.array([(sex or {}).get(sample) == "female" for sample in target.samples])
    starts = panel.pos[bounds[:-1]]
    owner = np.clip(np.searchsorted(starts, target.pos, side="right") - 1, 0, None)
    genotypes, haploid_calls = target.genotypes(), target.haploid
    stretches = []
    for g in range(len(bounds) - 1):
        x_specific = bool(haploid_panel[g].any())
        sites = np.flatnonzero(owner == g)
        span = f"{panel.chrom[bounds[g]]}:{panel.pos[bounds[g]]}-{panel.pos[bounds[g + 1] - 1]}"
        haploid_here = haploid_calls[:, sites]
        called = genotypes[:, sites] >= 0
        some_haploid = (haploid_here & called).any(axis=1)
        some_diploid = (~haploid_here & called).any(axis=1)
        if sex:
            expected = males & x_specific
            _check_sex(target, sites, expected, females | (males & ~expected),
                       haploid_here, genotypes[:, sites], span)
            haploid_targets = expected
        else:
            mixed = np.flatnonzero(some_haploid & some_diploid)
            if mixed.size:
                raise UserInputError(f"{target.source}: sample {target.samples[mixed[0]]} has "
                                     f"haploid and diploid calls in {span} (give its sex "
                                     f"with --sex)")
            haploid_targets = some_haploid
        stretches.append(Stretch(slice(int(bounds[g]), int(bounds[g + 1])),
                                 np.arange(panel.n_haplotypes) if ploidy is None
                                 else ploidy.present(g), sites, haploid_targets, x_specific))
    return stretches


def _check_sex(target, sites, haploid_expected, diploid_expected, haploid_calls, genotypes,
               span) -> None:
    """Calls that contradict --sex: a diploid heterozygote where the sample is haploid, a
    haploid call where it is diploid."""
    for expected, wrong, what, said in (
            (haploid_expected, ~haploid_calls & (genotypes == 1), "a heterozygous call",
             "male (haploid outside the PARs)"),
            (diploid_expected, haploid_calls & (genotypes >= 0), "a haploid call",
             "diploid here (female, or male in a PAR)")):
        bad = np.argwhere(expected[:, None] & wrong)
        if bad.size:
            n, s = bad[0]
            raise UserInputError(f"{target.source}: sample {target.samples[n]} has {what} at "
                                 f"{target.chrom[sites[s]]}:{target.pos[sites[s]]} ({span}) "
                                 f"but --sex makes it {said}")


def stretch_target(target: Calls, stretch: Stretch) -> Calls:
    """The target's calls in ``stretch``, each read as a diploid call (a haploid sample's
    calls homozygous)."""
    part = target.subset_sites(stretch.target_sites).as_diploid()
    haploid = stretch.haploid_targets
    part.alleles[1, haploid] = part.alleles[0, haploid]
    part.phased[haploid] = True
    return part
