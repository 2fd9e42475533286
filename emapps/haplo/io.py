"""Genotype loaders (VCF/BCF via pysam, haplo.stats-style tables) and result writers.

Genotypes are held as allele codes ``alleles[i, l, :]`` (two per subject and locus,
-1 for a missing allele) with the allele names of each locus; ``phased[i, l]`` says
the two calls are ordered (VCF ``a|b``).
"""

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..io.selection import as_regions, as_selection
from ..io.vcf import display_name, fetch, open_vcf

MISSING_VALUES = ("0", "NA", "", ".")
#: (first, second) column-name suffixes of a locus' two allele columns
PAIR_SUFFIXES = ((".a1", ".a2"), ("_a1", "_a2"), (".1", ".2"), ("_1", "_2"))
ID_COLUMNS = ("id", "sample", "subject", "iid")
VCF_SUFFIXES = (".vcf", ".vcf.gz", ".bcf", ".vcf.bgz")
MAX_ALLELES = 32767


@dataclass
class Genotypes:
    """Unphased (or phased) diploid genotypes of n subjects at L loci."""

    alleles: np.ndarray                # (n, L, 2) int16 allele codes, -1 missing
    subjects: list
    loci: list
    allele_names: list                 # per locus, the name of each code
    phased: np.ndarray | None = None   # (n, L) bool
    source: str = ""
    dropped: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.phased is None:
            self.phased = np.zeros(self.alleles.shape[:2], dtype=bool)

    @property
    def n_subjects(self) -> int:
        return self.alleles.shape[0]

    @property
    def n_loci(self) -> int:
        return self.alleles.shape[1]

    @property
    def n_alleles(self) -> np.ndarray:
        return np.array([len(names) for names in self.allele_names], dtype=np.int64)

    def select_loci(self, names) -> "Genotypes":
        """The loci named (in the order given); unknown or repeated names are an error."""
        repeated = sorted({name for name in names if list(names).count(name) > 1})
        if repeated:
            raise UserInputError(f"locus name(s) given more than once: {', '.join(repeated)}")
        index = {name: position for position, name in enumerate(self.loci)}
        unknown = [name for name in names if name not in index]
        if unknown:
            raise UserInputError(f"{self.source}: unknown locus name(s) {', '.join(unknown)}; "
                                 f"loci are {_shorten(self.loci)}")
        chosen = [index[name] for name in names]
        return Genotypes(self.alleles[:, chosen], list(self.subjects), list(names),
                         [self.allele_names[c] for c in chosen], self.phased[:, chosen],
                         self.source, dict(self.dropped))

    def collapse(self, weights: np.ndarray) -> tuple["Genotypes", np.ndarray]:
        """Identical genotypes merged into one row whose weight is their total weight
        (the likelihood is unchanged; every kernel then runs on distinct genotypes)."""
        canonical = self.alleles.copy()
        unphased = ~self.phased
        canonical[unphased] = np.sort(canonical[unphased], axis=1)
        key = np.concatenate([canonical.reshape(self.n_subjects, -1),
                              self.phased.astype(np.int16)], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=weights, minlength=first.size)
        return (Genotypes(np.ascontiguousarray(canonical[first]),
                          [self.subjects[row] for row in first], list(self.loci),
                          list(self.allele_names), self.phased[first], self.source,
                          dict(self.dropped)), merged)

    def drop_empty_subjects(self) -> "Genotypes":
        """Subjects with every allele missing carry no information; they are dropped."""
        keep = (self.alleles >= 0).any(axis=(1, 2))
        if keep.all():
            return self
        dropped = dict(self.dropped, subjects_all_missing=int((~keep).sum()))
        return Genotypes(self.alleles[keep], [s for s, k in zip(self.subjects, keep) if k],
                         list(self.loci), list(self.allele_names), self.phased[keep],
                         self.source, dropped)


def _shorten(names, limit=8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _natural_key(value: str):
    return (0, int(value), "") if re.fullmatch(r"-?\d+", value) else (1, 0, value)


def is_vcf(path: str) -> bool:
    return path == "-" or str(path).lower().endswith(VCF_SUFFIXES)


def read_genotypes(path: str, *, loci=None, region=None, samples=None, use_phase=False,
                   missing=MISSING_VALUES, id_column=None, first_allele_column=None) -> Genotypes:
    """Load a VCF/BCF (by suffix, or '-' for stdin) or a genotype table; pick ``loci``."""
    if is_vcf(path):
        if first_allele_column is not None or id_column is not None:
            raise UserInputError(f"{path}: --first-allele-column and --id-column apply to "
                                 f"genotype tables, not VCF")
        genotypes = read_vcf(path, region=region, samples=samples, use_phase=use_phase)
    else:
        if region is not None:
            raise UserInputError(f"{path}: --region needs a VCF/BCF input; use --loci "
                                 f"with a genotype table")
        genotypes = read_table(path, missing=missing, id_column=id_column,
                               first_allele_column=first_allele_column)
        if samples is not None:
            genotypes = _select_subjects(genotypes, samples)
    if loci:
        genotypes = genotypes.select_loci(loci)
    genotypes = genotypes.drop_empty_subjects()
    if genotypes.n_subjects == 0:
        raise UserInputError(f"{path}: no subjects left (every genotype is missing)")
    if genotypes.n_loci == 0:
        raise UserInputError(f"{path}: no loci to estimate haplotypes over")
    return genotypes


def _select_subjects(genotypes: Genotypes, samples) -> Genotypes:
    rows = as_selection(samples).columns(genotypes.subjects, genotypes.source)
    return Genotypes(genotypes.alleles[rows], [genotypes.subjects[row] for row in rows],
                     genotypes.loci,
                     genotypes.allele_names, genotypes.phased[rows], genotypes.source,
                     genotypes.dropped)


# ----------------------------------------------------------------------------- VCF

def read_vcf(path: str, *, region=None, samples=None, use_phase=False) -> Genotypes:
    """Diploid GT calls of a VCF/BCF (plain, bgzipped, '-' for stdin) via pysam."""
    name = display_name(path)
    with open_vcf(path) as vcf:
        header_samples = list(vcf.header.samples)
        if samples is not None:   # records list the kept samples in file order
            kept = sorted(as_selection(samples).columns(header_samples, name))
            header_samples = [header_samples[column] for column in kept]
            vcf.subset_samples(header_samples)
        if not header_samples:
            raise UserInputError(f"{name}: the file has no samples")
        records = fetch(vcf, name, as_regions(region))
        columns, phased_columns, loci, allele_names = [], [], [], []
        monomorphic_missing = 0
        seen = set()
        last = None
        try:
            for record in records:
                last = f"{record.chrom}:{record.pos}"
                calls, phases = _record_calls(record, name, last)
                observed = np.unique(calls[calls >= 0])
                if observed.size == 0:
                    monomorphic_missing += 1
                    continue
                recode = np.full(len(record.alleles), -1, dtype=np.int16)
                recode[observed] = np.arange(observed.size, dtype=np.int16)
                columns.append(np.where(calls >= 0, recode[np.maximum(calls, 0)], -1))
                phased_columns.append(phases & use_phase)
                locus = record.id if record.id and record.id not in seen else last
                seen.add(locus)
                loci.append(locus)
                allele_names.append([record.alleles[a] for a in observed])
        except (OSError, ValueError) as error:
            where = f" after {last}" if last else ""
            raise UserInputError(f"{name}: malformed VCF record{where} ({error})") from None
    if not columns:
        raise UserInputError(f"{name}: no variant records with genotypes"
                             + (f" in region {region}" if region else ""))
    dropped = {"sites_all_missing": monomorphic_missing} if monomorphic_missing else {}
    return Genotypes(np.ascontiguousarray(np.stack(columns, axis=1)), header_samples, loci,
                     allele_names, np.stack(phased_columns, axis=1), name, dropped)


def _record_calls(record, name, where):
    """(calls (n, 2) allele indices with -1 missing, phased (n,) bool) of one record."""
    n = len(record.samples)
    calls = np.full((n, 2), -1, dtype=np.int64)
    phased = np.zeros(n, dtype=bool)
    for row, (sample, call) in enumerate(record.samples.items()):
        gt = call.get("GT")
        if gt is None or gt == (None,):
            continue
        if len(gt) != 2:
            kind = "haploid" if len(gt) == 1 else f"{len(gt)}-ploid"
            raise UserInputError(f"{name}: {where} sample {sample} has a {kind} call; "
                                 f"haplotype estimation needs diploid genotypes")
        calls[row] = [-1 if a is None else a for a in gt]
        phased[row] = call.phased
    return calls, phased


# --------------------------------------------------------------------------- tables

def _open_text(path):
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")
    try:
        return open(path, encoding="utf-8", newline="")
    except OSError as error:
        raise UserInputError(f"{path}: {error.strerror or error}") from None


def _allele_columns(header, first_allele_column, name):
    """[(locus name, column a, column b)] from the header's suffix pairs, or every
    column from ``first_allele_column`` (1-based) on, two per locus."""
    if first_allele_column is not None:
        start = first_allele_column - 1
        if not 0 <= start < len(header):
            raise UserInputError(f"{name}: --first-allele-column {first_allele_column} is "
                                 f"outside the {len(header)} columns")
        count = len(header) - start
        if count % 2:
            raise UserInputError(f"{name}: odd number of allele columns ({count}) from "
                                 f"column {first_allele_column}; each locus needs two")
        return [(_locus_stem(header[c]), c, c + 1) for c in range(start, len(header), 2)]
    loci = []
    column = 0
    while column < len(header):
        suffixes = next(((a, b) for a, b in PAIR_SUFFIXES if header[column].endswith(a)), None)
        if suffixes is None:
            column += 1
            continue
        stem = header[column][:-len(suffixes[0])]
        if column + 1 >= len(header) or header[column + 1] != stem + suffixes[1]:
            raise UserInputError(f"{name}: column {header[column]!r} has no partner "
                                 f"{stem + suffixes[1]!r} beside it (odd number of allele "
                                 f"columns for locus {stem!r})")
        loci.append((stem, column, column + 1))
        column += 2
    if not loci:
        raise UserInputError(f"{name}: no allele columns found; name each locus' columns "
                             f"<locus>.a1 and <locus>.a2, or give --first-allele-column")
    return loci


def _locus_stem(column_name):
    for first, _ in PAIR_SUFFIXES:
        if column_name.endswith(first):
            return column_name[:-len(first)]
    return column_name


def read_table(path: str, *, missing=MISSING_VALUES, id_column=None,
               first_allele_column=None) -> Genotypes:
    """A haplo.stats-style table: header, one row per subject, two columns per locus."""
    name = "<stdin>" if path == "-" else str(path)
    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{name}: no such file")
    with _open_text(path) as handle:
        try:
            text = handle.read()
        except UnicodeDecodeError:
            raise UserInputError(f"{name}: not a text genotype table (use a .vcf/.vcf.gz/.bcf "
                                 f"suffix for VCF/BCF)") from None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        raise UserInputError(f"{name}: empty genotype table")
    delimiter = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [column.strip() for column in rows[0]]
    loci = _allele_columns(header, first_allele_column, name)
    subjects_column = _id_column(header, id_column, name)
    body = rows[1:]
    if not body:
        raise UserInputError(f"{name}: the table has a header but no subjects")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UserInputError(f"{name}: line {number} has {len(row)} fields, the header "
                                 f"has {len(header)}")
    missing = set(missing)
    n, n_loci = len(body), len(loci)
    alleles = np.full((n, n_loci, 2), -1, dtype=np.int16)
    allele_names = []
    for position, (_, a, b) in enumerate(loci):
        values = np.array([[row[a].strip(), row[b].strip()] for row in body], dtype=object)
        present = np.array([[value not in missing for value in pair] for pair in values])
        names = sorted(set(values[present].tolist()), key=_natural_key)
        if len(names) > MAX_ALLELES:
            raise UserInputError(f"{name}: locus {loci[position][0]} has {len(names)} alleles "
                                 f"(at most {MAX_ALLELES})")
        code = {allele: index for index, allele in enumerate(names)}
        for row in range(n):
            for side in range(2):
                if present[row, side]:
                    alleles[row, position, side] = code[values[row, side]]
        allele_names.append(names)
    if subjects_column is None:
        subjects = [str(row) for row in range(1, n + 1)]
    else:
        subjects = [row[subjects_column].strip() for row in body]
    return Genotypes(alleles, subjects, [stem for stem, _, _ in loci], allele_names,
                     source=name)


def _id_column(header, id_column, name):
    if id_column is not None:
        if id_column not in header:
            raise UserInputError(f"{name}: no column named {id_column!r} for subject ids")
        return header.index(id_column)
    lowered = [column.lower() for column in header]
    return next((lowered.index(c) for c in ID_COLUMNS if c in lowered), None)


# -------------------------------------------------------------------------- writers

def _format(value: float) -> str:
    return "NA" if not np.isfinite(value) else f"{value:.6g}"


def frequency_table(model, min_freq: float = 0.0) -> str:
    """TSV: haplotype id, allele per locus, frequency, standard error, expected count."""
    lines = ["\t".join(["hap", *model.loci_, "freq", "se", "expected_count"])]
    for index, row in enumerate(model.haplotypes_):
        if model.frequencies_[index] < min_freq:
            continue
        alleles = [model.allele_names_[locus][code] for locus, code in enumerate(row)]
        lines.append("\t".join([str(index + 1), *alleles,
                                f"{model.frequencies_[index]:.8g}",
                                _format(model.standard_errors_[index]),
                                f"{model.expected_counts_[index]:.6g}"]))
    return "\n".join(lines) + "\n"


def pairs_table(model, min_posterior: float = 1e-6) -> str:
    """TSV: subject, the two haplotypes (ids and alleles) of each pair, posterior."""
    labels = model.haplotype_labels()
    pairs, posterior = model.pairs_, model.posteriors_
    subject_of_pair = pairs.subject_of_pair()
    lines = ["subject\thap1\thap2\thaplotype1\thaplotype2\tposterior"]
    for j in np.flatnonzero(posterior >= min_posterior):
        a, b = pairs.first[j], pairs.second[j]
        lines.append(f"{model.subjects_[subject_of_pair[j]]}\t{a + 1}\t{b + 1}\t"
                     f"{labels[a]}\t{labels[b]}\t{posterior[j]:.6g}")
    return "\n".join(lines) + "\n"


def ld_table(model) -> str:
    """TSV: every pair of loci with D (biallelic pairs), D' and r2."""
    ld = model.linkage_disequilibrium()
    lines = ["locus1\tlocus2\tD\tDprime\tr2"]
    for row in range(ld["locus1"].shape[0]):
        lines.append(f"{model.loci_[ld['locus1'][row]]}\t{model.loci_[ld['locus2'][row]]}\t"
                     f"{_format(ld['D'][row])}\t{_format(ld['Dprime'][row])}\t"
                     f"{_format(ld['r2'][row])}")
    return "\n".join(lines) + "\n"
