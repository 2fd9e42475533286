"""Genotypes for the admixture model, held 2-bit packed as a PLINK 1 .bed holds them
(SNP-major, four calls a byte): a .bed/.bim/.fam fileset memory-mapped, or the GT calls
of a VCF/BCF packed the same way (A1 = ALT, as PLINK imports a VCF)."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from ..kernels.admixture import call_counts
from ..kernels.parallel import map_chunks

#: a SNP-major .bed's first three bytes
BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
#: .bed codes by A1 count (2, 1, 0) and for a missing call
CODE_OF_COUNT = np.array([3, 2, 0], dtype=np.uint8)
MISSING_CODE = 1
#: SNPs counted per task
SNP_CHUNK = 1024


@dataclass
class Genotypes:
    """N individuals x M SNPs of packed calls (``packed``: (M, ceil(N / 4)) uint8, the
    .bed's rows) with the .fam's individuals and the .bim's SNPs."""

    packed: np.ndarray
    fid: list
    iid: list
    chrom: np.ndarray
    snp_ids: np.ndarray
    cm: np.ndarray
    pos: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    source: str = ""
    skipped: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return len(self.iid)

    @property
    def n_snps(self) -> int:
        return self.packed.shape[0]

    def counts(self) -> tuple:
        """(observed calls per individual (N,), per SNP (observed calls, A1 copies)
        (M, 2))."""
        per_snp = np.zeros((self.n_snps, 2))
        parts = []
        for first, rows in blocks_in_memory(self.packed):
            parts += map_chunks(lambda start, stop: _counts(
                rows, self.n_samples, start, stop, per_snp[first:first + rows.shape[0]]),
                rows.shape[0], SNP_CHUNK)
        return np.sum(parts, axis=0), per_snp

    def take_snps(self, keep) -> "Genotypes":
        keep = np.asarray(keep)
        return Genotypes(np.ascontiguousarray(self.packed[keep]), self.fid, self.iid,
                         *(values[keep] for values in (self.chrom, self.snp_ids, self.cm,
                                                       self.pos, self.a1, self.a2)),
                         self.source, dict(self.skipped))

    def take_samples(self, keep) -> "Genotypes":
        """The individuals ``keep`` (indices, ascending) only, repacked."""
        keep = np.asarray(keep, dtype=np.int64)
        calls = unpack(self.packed, self.n_samples)[:, keep]
        return Genotypes(pack(calls), [self.fid[k] for k in keep], [self.iid[k] for k in keep],
                         self.chrom, self.snp_ids, self.cm, self.pos, self.a1, self.a2,
                         self.source, dict(self.skipped))


def is_dask(array) -> bool:
    return hasattr(array, "dask") and hasattr(array, "chunks")


def blocks_in_memory(packed):
    """(first SNP, rows as numpy) of ``packed``: itself, or a Dask array's row blocks
    computed one at a time."""
    if not is_dask(packed):
        yield 0, packed
        return
    first = 0
    for block in packed.rechunk({1: -1}).blocks:
        rows = np.ascontiguousarray(block.compute())
        yield first, rows
        first += rows.shape[0]


def _counts(packed, n, start, stop, per_snp):
    per_sample = np.zeros(n)
    call_counts(packed, n, start, stop, per_sample, per_snp)
    return per_sample


def unpack(packed, n_samples) -> np.ndarray:
    """(M, N) int8 A1 counts, -1 missing."""
    shifts = np.arange(0, 8, 2, dtype=np.uint8)
    codes = (packed[:, :, None] >> shifts) & 3
    counts = np.array([2, -1, 1, 0], dtype=np.int8)[codes]
    return counts.reshape(packed.shape[0], -1)[:, :n_samples]


def pack(calls) -> np.ndarray:
    """(M, ceil(N / 4)) .bed rows of (M, N) A1 counts (-1 missing)."""
    calls = np.asarray(calls)
    n_snps, n_samples = calls.shape
    codes = np.where(calls < 0, MISSING_CODE, CODE_OF_COUNT[np.clip(calls, 0, 2)])
    padded = np.zeros((n_snps, -(-n_samples // 4) * 4), dtype=np.uint8)
    padded[:, :n_samples] = codes
    padded = padded.reshape(n_snps, -1, 4)
    return (padded[:, :, 0] | (padded[:, :, 1] << 2) | (padded[:, :, 2] << 4)
            | (padded[:, :, 3] << 6)).astype(np.uint8)


def fileset_paths(name) -> tuple:
    """(.bed, .bim, .fam) of a PLINK 1 fileset named by its prefix or its .bed."""
    text = str(name)
    prefix = text[:-4] if text.endswith(".bed") else text
    return tuple(Path(prefix + suffix) for suffix in (".bed", ".bim", ".fam"))


def _columns(path, expected, what) -> list:
    try:
        with open(path) as handle:
            rows = [line.split() for line in handle if line.strip()]
    except OSError as error:
        raise UserInputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not a text {what} file") from None
    for number, row in enumerate(rows, start=1):
        if len(row) != expected:
            raise UserInputError(f"{path}: line {number} has {len(row)} columns; a {what} "
                                 f"has {expected}")
    if not rows:
        raise UserInputError(f"{path}: an empty {what}")
    return rows


def read_plink(name) -> Genotypes:
    """A PLINK 1 fileset (prefix or .bed), its .bed memory-mapped."""
    bed, bim, fam = fileset_paths(name)
    for path in (bed, bim, fam):
        if not path.exists():
            raise UserInputError(f"{path}: no such file (a PLINK fileset needs .bed, .bim "
                                 f"and .fam)")
    individuals = _columns(fam, 6, ".fam")
    snps = _columns(bim, 6, ".bim")
    n_samples, n_snps = len(individuals), len(snps)
    width = -(-n_samples // 4)
    with open(bed, "rb") as handle:
        head = handle.read(3)
    if head[:2] != BED_MAGIC[:2]:
        raise UserInputError(f"{bed}: not a PLINK 1 .bed file (wrong magic bytes)")
    if head[2:3] != BED_MAGIC[2:]:
        raise UserInputError(f"{bed}: an individual-major .bed; convert it with "
                             f"'plink --bfile X --make-bed' (SNP-major)")
    expected = 3 + n_snps * width
    size = os.path.getsize(bed)
    if size != expected:
        raise UserInputError(f"{bed}: {size} bytes, but {n_snps} SNPs (.bim) x "
                             f"{n_samples} individuals (.fam) need {expected}")
    packed = np.memmap(bed, dtype=np.uint8, mode="r", offset=3, shape=(n_snps, width))
    columns = list(zip(*snps))
    try:
        cm, pos = np.array(columns[2], dtype=float), np.array(columns[3], dtype=np.int64)
    except ValueError:
        raise UserInputError(f"{bim}: the cM and position columns must be numbers") \
            from None
    return Genotypes(packed, [row[0] for row in individuals], [row[1] for row in individuals],
                     np.array(columns[0]), np.array(columns[1]), cm, pos,
                     np.array(columns[4]), np.array(columns[5]), str(bed))


def read_vcf_genotypes(path, *, region=None, samples=None, threads: int = 1) -> Genotypes:
    """The GT calls of a VCF/BCF packed as a .bed (A1 = ALT); multi-allelic records are
    skipped and counted; a haploid call is refused with its record."""
    from ..impute.io import RecordChunks

    reading = RecordChunks(path, region=region, samples=samples, threads=threads)
    rows, sites = [], [[] for _ in range(5)]
    for chunk in reading:
        first, second = chunk.alleles
        haploid = np.argwhere(second == -2)
        if haploid.size:
            sample, site = haploid[0]
            raise UserInputError(f"{reading.name}: {chunk.sites[0][site]}:"
                                 f"{chunk.sites[1][site]} sample {reading.samples[sample]} "
                                 f"has a haploid call; the admixture model takes diploid "
                                 f"calls (leave chromosome X out with -r)")
        counts = np.where((first < 0) | (second < 0), -1, first + second)
        rows.append(pack(counts.T))
        for values, part in zip(sites, chunk.sites):
            values.append(part)
    chrom, pos, ids, ref, alt = (np.concatenate(values) for values in sites)
    ids = np.where(ids == ".", np.char.add(np.char.add(chrom.astype(str), ":"),
                                           pos.astype(str)), ids)
    return Genotypes(np.concatenate(rows), list(reading.samples), list(reading.samples),
                     chrom, ids, np.zeros(len(pos)), pos, alt, ref, reading.name,
                     dict(reading.skipped))


def read_genotypes(path, *, region=None, samples=None, threads: int = 1) -> Genotypes:
    """A PLINK 1 fileset (prefix or .bed) or a VCF/BCF; ``region`` and ``samples``
    apply to a VCF only."""
    if str(path).endswith((".vcf", ".vcf.gz", ".bcf", ".vcf.bgz")) or path == "-":
        return read_vcf_genotypes(path, region=region, samples=samples, threads=threads)
    if region is not None or samples is not None:
        raise UserInputError("-r/-R and -s/-S select from a VCF/BCF; subset a PLINK fileset "
                             "with plink --extract/--keep")
    return read_plink(path)
