"""VCF/BCF access shared by the genetics modules, through pysam: opening with clean
errors, region queries, and fast GT parsing from the records' text."""

from pathlib import Path

import numpy as np

from .errors import UserInputError

#: byte value of an allele digit minus this gives the allele; '.' becomes negative
ZERO = ord("0")
PIPE, SLASH = ord("|"), ord("/")


def open_vcf(path, threads: int = 1):
    """A ``pysam.VariantFile`` for reading ``path`` ('-' for stdin), or a one-line error."""
    import pysam

    name = display_name(path)
    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{name}: no such file")
    previous = pysam.set_verbosity(0)  # htslib's own messages would repeat ours
    try:
        vcf = pysam.VariantFile(str(path), threads=threads)
    except (OSError, ValueError) as error:
        raise UserInputError(f"{name}: not a readable VCF/BCF file ({error})") from None
    finally:
        pysam.set_verbosity(previous)
    if "GT" not in vcf.header.formats:
        vcf.close()
        raise UserInputError(f"{name}: the header declares no FORMAT/GT field")
    return vcf


def display_name(path) -> str:
    return "<stdin>" if path == "-" else str(path)


def fetch(vcf, name, region):
    """The records of ``region`` ('chr:start-end'), or all of them when None."""
    if region is None:
        return vcf
    try:
        return vcf.fetch(region=region)
    except ValueError as error:
        if "index" in str(error).lower() or "without" in str(error).lower():
            raise UserInputError(f"{name}: --region needs an index (.tbi or .csi) beside a "
                                 f"bgzipped file; make one with 'bcftools index'") from None
        raise UserInputError(f"{name}: bad region {region!r} ({error})") from None


def diploid_calls(record, n_samples: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(alleles (2, n) int8 with -1 missing, phased (n,) bool) of a biallelic record,
    parsed from its text: a GT-only record of one-digit diploid calls is read in one
    vectorised step, anything else call by call."""
    line = str(record)
    samples = line.rstrip("\n").split("\t", 9)[9] if n_samples else ""
    if len(samples) == 4 * n_samples - 1 and ":" not in samples:
        raw = np.frombuffer((samples + "\t").encode(), dtype=np.uint8).reshape(-1, 4)
        alleles = raw[:, 0:3:2].T.astype(np.int8) - ZERO   # '.' becomes negative
        separator = raw[:, 1]
        phased = separator == PIPE
        if (phased | (separator == SLASH)).all() and alleles.max() <= 1:
            return np.maximum(alleles, -1), phased
    return _calls_one_by_one(samples.split("\t"), record, name)


def _calls_one_by_one(fields, record, name):
    alleles = np.full((2, len(fields)), -1, dtype=np.int8)
    phased = np.zeros(len(fields), dtype=bool)
    where = f"{record.chrom}:{record.pos}"
    for column, text in enumerate(fields):
        call = text.split(":", 1)[0]
        phased[column] = "|" in call
        parts = call.replace("|", "/").split("/")
        if len(parts) != 2:
            if parts == ["."]:
                continue
            sample = record.header.samples[column]
            raise UserInputError(f"{name}: {where} sample {sample} has a {len(parts)}-ploid "
                                 f"call {call!r}; imputation needs diploid genotypes")
        for copy, part in enumerate(parts):
            if part == ".":
                continue
            if part not in ("0", "1"):
                raise UserInputError(f"{name}: {where} sample "
                                     f"{record.header.samples[column]}: allele {part!r} of a "
                                     f"biallelic record")
            alleles[copy, column] = int(part)
    return alleles, phased
